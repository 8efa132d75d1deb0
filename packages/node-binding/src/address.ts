/** `host:port`, with brackets around IPv6 addresses (as URLs write them). */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
