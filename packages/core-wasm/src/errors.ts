/**
 * The base of tcpserv's error family, shared by this package and @tcpserv/node (which builds
 * its classes on it), so one `instanceof TcpServError` covers both layers.
 */
export class TcpServError extends Error {
  /** Stable machine-readable code. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A config the core refuses; `status` is the core's code, `setting` the config field at fault. */
export class CoreConfigError extends TcpServError {
  static readonly CODE = 'ERR_TCPSERV_CORE_CONFIG';
  readonly status: number;
  readonly setting: string;

  constructor(status: number, setting: string, message: string) {
    super(CoreConfigError.CODE, message);
    this.status = status;
    this.setting = setting;
  }
}

/**
 * V8 could not reserve a new WebAssembly memory. Each one reserves about 10 GiB of virtual
 * address space (its guard region), whatever its size, so a process runs out after roughly
 * 12,800 live cores even with plenty of RAM free.
 */
export class CoreOutOfMemoryError extends TcpServError {
  static readonly CODE = 'ERR_TCPSERV_OUT_OF_MEMORY';

  constructor(cause: unknown) {
    super(CoreOutOfMemoryError.CODE,
      'cannot create another tcpserv core: no address space left for its WebAssembly memory ' +
        '(each core reserves about 10 GiB of virtual address space; destroy servers you no longer need)',
      { cause });
  }
}
