/**
 * `vireo run --agent-socket PATH`: the guest agent port of virtio-serial
 * (`org.qemu.guest_agent.0`) served on a UNIX socket, like QEMU's
 * `-chardev socket,path=PATH,server=on,wait=off` behind `virtserialport,name=org.qemu.guest_agent.0`.
 *
 * One client at a time (a second connection is refused with a message on stderr, as QEMU's
 * chardev accepts one); bytes from the client go to the guest, bytes from the guest go to the
 * client. Guest bytes while no client is connected are dropped (QEMU does the same with an
 * unconnected socket chardev), so a guest that writes without a reader never grows memory.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { existsSync, lstatSync, unlinkSync } from 'node:fs';

/** A listening agent socket. */
export interface AgentSocket {
  /** Hands guest bytes to the connected client (dropped when none). */
  fromGuest(bytes: Uint8Array): void;
  /** Stops listening, disconnects the client and removes the socket file. */
  close(): Promise<void>;
}

/**
 * Listens on `path` (a stale socket file is replaced; any other existing file is an error
 * naming the path). `toGuest` receives the client's bytes.
 */
export async function listenAgentSocket(path: string, toGuest: (bytes: Uint8Array) => void,
  warn: (message: string) => void): Promise<AgentSocket> {
  if (existsSync(path)) {
    if (!lstatSync(path).isSocket()) throw new Error(`--agent-socket: ${path} exists and is not a socket; refusing to replace it`);
    unlinkSync(path);
  }
  let client: Socket | null = null;
  const server: Server = createServer((socket) => {
    if (client) {
      warn('--agent-socket: a client is already connected; refusing another');
      socket.destroy();
      return;
    }
    client = socket;
    socket.on('data', (chunk: Buffer) => toGuest(new Uint8Array(chunk)));
    socket.on('error', (e) => warn(`--agent-socket: ${e.message}`));
    socket.on('close', () => { if (client === socket) client = null; });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`--agent-socket: cannot listen on ${path}: ${e.message}`)));
    server.listen(path, () => resolve());
  });
  return {
    fromGuest(bytes) {
      if (client && !client.destroyed) client.write(bytes);
    },
    async close() {
      client?.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (existsSync(path)) unlinkSync(path);
    },
  };
}
