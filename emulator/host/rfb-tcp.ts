/**
 * Serves an RfbServer on a TCP port (RFC 6143 section 1: RFB over TCP, by convention
 * port 5900 + display number) so any VNC client can attach. Binds 127.0.0.1 unless
 * told otherwise: VNC Authentication is weak, so exposing it beyond the host should be
 * a deliberate choice (tunnel it).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { RfbServer } from '../display/rfb/rfb-server.js';

/** A listening RFB TCP endpoint. */
export interface RfbTcpListener {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Stops listening and closes every socket it accepted. */
  close(): Promise<void>;
}

/** Listens on `host:port` and connects each accepted socket to `server`. */
export function listenRfbTcp(server: RfbServer, opts: { port: number; host?: string }): Promise<RfbTcpListener> {
  const sockets = new Set<Socket>();
  const net: Server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const conn = server.connect({
      send: (bytes) => { if (!socket.destroyed) socket.write(bytes); },
      close: () => { socket.end(); }, // flushes a pending SecurityResult reason first
    });
    socket.on('data', (data: Buffer) => conn.receive(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
    socket.on('error', (e) => conn.close(`socket error: ${e.message}`));
    socket.on('close', () => {
      sockets.delete(socket);
      conn.close('peer closed');
    });
  });
  return new Promise((resolve, reject) => {
    net.once('error', reject);
    net.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      net.off('error', reject);
      const addr = net.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port;
      resolve({
        port,
        close: () => new Promise<void>((done) => {
          for (const s of sockets) s.destroy();
          net.close(() => done());
        }),
      });
    });
  });
}
