/**
 * The serial console: an xterm.js terminal bound to the VM's SerialStream. Guest output
 * (history first) is written to the terminal as bytes; what the user types is sent to the
 * guest as UTF-8 bytes.
 */
import '@xterm/xterm/css/xterm.css';
import { Terminal } from '@xterm/xterm';
import { useEffect, useRef, useState } from 'react';
import type { SerialStatus } from '../../host-client/index.js';
import { useAppStore } from '../../store/context.js';

/** The terminal for VM `vmId`. Remount (key) it to reconnect. */
export function SerialConsole({ vmId, vmName }: { vmId: string; vmName: string }) {
  const openSerial = useAppStore((s) => s.openSerial);
  const host = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState<SerialStatus>('connecting');
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const term = new Terminal({ convertEol: false, cursorBlink: true, fontSize: 13, rows: 25, cols: 80, scrollback: 5000 });
    term.open(el);
    const stream = openSerial(vmId);
    const encoder = new TextEncoder();
    const offs = [
      stream.onData((bytes) => term.write(bytes)),
      stream.onStatus((s) => {
        setStatus(s);
        if (s === 'closed') setProblem(stream.closeReason());
      }),
    ];
    const input = term.onData((text) => stream.write(encoder.encode(text)));
    const binary = term.onBinary((text) => stream.write(Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff)));
    setStatus(stream.status());
    return () => {
      offs.forEach((off) => off());
      input.dispose();
      binary.dispose();
      stream.close();
      term.dispose();
    };
  }, [openSerial, vmId]);

  return (
    <div className="serial-console">
      <div className="console-bar">
        <span className={`serial-status serial-${status}`}>Serial: {status}</span>
        {problem && <span className="form-error">{problem}</span>}
      </div>
      <div ref={host} className="terminal-host" role="group" aria-label={`Serial console of ${vmName}`} />
    </div>
  );
}
