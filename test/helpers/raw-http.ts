/**
 * One HTTP request written as raw bytes to a local port, for what `fetch` cannot send (CONNECT, HTTP/1.0 without Host,
 * a URL past the parser's limit).
 */
import { connect } from 'node:net';

/**
 * Send `request` to 127.0.0.1:`port` and read until the server closes the connection.
 * @returns Everything the server sent (status line, headers, body), as text.
 */
export function rawRequest(port: number, request: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let text = '';
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    socket.on('data', (d) => { text += d.toString(); });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}
