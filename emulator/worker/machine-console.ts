/**
 * The display and keyboard console of one machine inside its worker: an RFB (VNC) server
 * whose viewers are byte streams relayed by the host (`rfb-open` / `rfb-data` /
 * `rfb-close`, security None: the host's channels are authenticated already), an
 * optional TCP listener on 127.0.0.1 with VNC Authentication for external clients, and
 * the Send-key chords (`send-keys`).
 *
 * Frames: while at least one viewer is connected (relayed or TCP), the VGA is rendered
 * on a timer (30 Hz) and handed to the servers, which encode only what changed and only
 * when a client has asked. Without viewers nothing is rendered; a new viewer gets a
 * fresh render at once. The guest's keyboard LEDs are polled with each frame.
 */
import type { WorkerMachineConfig, WorkerToHost } from '../../protocol/worker.js';
import { RfbServer } from '../display/rfb/rfb-server.js';
import type { RfbConnection } from '../display/rfb/rfb-connection.js';
import { VgaRenderer } from '../display/vga-renderer.js';
import { listenRfbTcp, type RfbTcpListener } from '../host/rfb-tcp.js';
import { zlibDeflateFactory } from '../host/rfb-zlib.js';
import type { PcMachine } from '../machine/pc-machine.js';

/** Frame interval while someone watches (30 Hz). */
export const FRAME_INTERVAL_MS = 33;

/** The console of one machine (see the module comment). */
export class MachineConsole {
  private readonly renderer: VgaRenderer;
  /** Relayed viewers (security None). */
  private readonly inApp: RfbServer;
  /** External VNC clients over TCP (VNC Authentication), when configured. */
  private tcpServer: RfbServer | null = null;
  private tcp: RfbTcpListener | null = null;
  private readonly conns = new Map<number, RfbConnection>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private closed = false;

  /**
   * @param machine the machine to show and type into
   * @param send posts a message to the host
   */
  constructor(private readonly machine: PcMachine, private readonly send: (msg: WorkerToHost, transfer?: ArrayBuffer[]) => void,
    config: WorkerMachineConfig, private readonly log: (message: string) => void) {
    this.renderer = new VgaRenderer(machine.board.vga);
    const deflate = zlibDeflateFactory();
    const name = config.name ?? 'Vireo';
    this.inApp = new RfbServer({ name, input: machine.board.consoleInput(), deflate, log });
    if (config.vnc) {
      const server = new RfbServer({ name, password: config.vnc.password, input: machine.board.consoleInput(), deflate, log });
      this.tcpServer = server;
      listenRfbTcp(server, { port: config.vnc.port, host: '127.0.0.1' }).then((listener) => {
        if (this.closed) { void listener.close(); return; }
        this.tcp = listener;
        this.log(`vnc: listening on 127.0.0.1:${listener.port}`);
        this.send({ type: 'vnc-listening', port: listener.port });
      }, (err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        this.log(`vnc: cannot listen on 127.0.0.1:${config.vnc?.port}: ${message}`);
        this.send({ type: 'vnc-listening', port: null, error: message });
      });
    }
    // Cheap when idle: the tick renders only while someone watches.
    this.timer = setInterval(() => this.tick(), FRAME_INTERVAL_MS);
  }

  /** A relayed viewer connected. */
  open(connId: number): void {
    if (this.closed) {
      this.send({ type: 'rfb-closed', connId, reason: 'the machine has stopped' });
      return;
    }
    if (this.conns.has(connId)) {
      this.log(`rfb: connection ${connId} is already open; ignored`);
      return;
    }
    const conn = this.inApp.connect({
      send: (bytes) => {
        // The connection never touches sent bytes again: hand the buffer over when it is whole.
        const whole = bytes.byteOffset === 0 && bytes.buffer instanceof ArrayBuffer && bytes.byteLength === bytes.buffer.byteLength;
        this.send({ type: 'rfb-data', connId, data: bytes }, whole ? [bytes.buffer as ArrayBuffer] : undefined);
      },
      close: (reason) => {
        if (this.conns.get(connId) === conn) this.conns.delete(connId);
        this.send({ type: 'rfb-closed', connId, reason });
      },
    });
    this.conns.set(connId, conn);
    this.renderNow(); // a new connection starts with everything dirty
  }

  /** Bytes from a relayed viewer. */
  data(connId: number, bytes: Uint8Array): void {
    this.conns.get(connId)?.receive(bytes);
  }

  /** A relayed viewer went away. */
  close(connId: number): void {
    const conn = this.conns.get(connId);
    if (!conn) return;
    this.conns.delete(connId);
    conn.close('the viewer closed the connection');
  }

  /** Presses `keys` in order and releases them in reverse (one chord). */
  sendKeys(keys: readonly number[]): void {
    const kbc = this.machine.board.kbc;
    const pressed: number[] = [];
    try {
      for (const k of keys) { kbc.keyDown(k); pressed.push(k); }
    } finally {
      for (const k of pressed.reverse()) kbc.keyUp(k);
    }
  }

  /** Closes every viewer and the TCP listener (the machine stopped). */
  async dispose(reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.inApp.closeAll(reason);
    this.tcpServer?.closeAll(reason);
    this.conns.clear();
    await this.tcp?.close();
  }

  private get viewers(): number {
    return this.inApp.connectionCount + (this.tcpServer?.connectionCount ?? 0);
  }

  private tick(): void {
    if (this.viewers > 0) this.renderNow();
  }

  private renderNow(): void {
    try {
      const frame = this.renderer.render();
      this.inApp.onFrame(frame);
      this.tcpServer?.onFrame(frame);
      const leds = this.machine.board.kbc.keyboard.ledState;
      this.inApp.setLeds(leds);
      this.tcpServer?.setLeds(leds);
    } catch (err) {
      this.log(`console: rendering failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
