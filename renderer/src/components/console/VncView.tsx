/**
 * The guest's screen, live: noVNC's `RFB` client connected to the emulator's RFB server
 * through the shell's transport (a WebSocket URL in the browser shell, a MessagePort
 * wrapped as a WebSocket-like channel in the desktop shell; see host-client/vnc-channel.ts).
 *
 * Keyboard: while the screen has focus (click it), noVNC sends every key to the guest as
 * raw scan codes (QEMU extended key events); clicking outside releases it. Chords the
 * host OS would swallow (Ctrl+Alt+Del, Ctrl+Alt+Fn) go through the "Send key" menu
 * (`vm.sendKeys`). Scale to window or 1:1, fullscreen, and a PNG screenshot of what the
 * viewer shows.
 */
import './console.css';
import RFB from '@novnc/novnc';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { VmEntry } from '../../../../protocol/index.js';
import { useAppStore } from '../../store/context.js';

/** A Send-key menu entry: set-1 scan codes pressed in order, released in reverse. */
export interface KeyChord {
  label: string;
  keys: number[];
}

const CTRL = 0x1d;
const ALT = 0x38;
/** F1-F10 are 0x3B-0x44; F11 and F12 are 0x57 and 0x58. */
const F_KEYS = [0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x57, 0x58];

/** The Send-key menu. */
export const SEND_KEY_CHORDS: readonly KeyChord[] = [
  { label: 'Ctrl+Alt+Del', keys: [CTRL, ALT, 0xe053] },
  { label: 'Ctrl+Alt+Backspace', keys: [CTRL, ALT, 0x0e] },
  ...F_KEYS.map((code, i) => ({ label: `Ctrl+Alt+F${i + 1}`, keys: [CTRL, ALT, code] })),
  { label: 'PrintScreen', keys: [0xe037] },
];

type ScreenStatus = 'connecting' | 'connected' | 'disconnected';

/** A file name for a screenshot of `vmName` taken now. */
function screenshotName(vmName: string): string {
  const stamp = new Date().toISOString().replace(/[:]/g, '-').replace(/\..*$/, '');
  return `${vmName.replace(/[^\w.-]+/g, '_')}-${stamp}.png`;
}

/** The live screen of `vm` (see the module comment). */
export function VncView({ vm }: { vm: VmEntry }) {
  const openVnc = useAppStore((s) => s.openVnc);
  const sendKeys = useAppStore((s) => s.sendKeys);
  const screen = useRef<HTMLDivElement>(null);
  const frame = useRef<HTMLDivElement>(null);
  const rfbRef = useRef<RFB | null>(null);
  const [status, setStatus] = useState<ScreenStatus>('connecting');
  const [problem, setProblem] = useState<string | null>(null);
  const [scale, setScale] = useState(true);
  const [grabbed, setGrabbed] = useState(false);
  const [fullscreen, setFullscreen] = useState(false);
  const [menuOpen, setMenuOpen] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const scaleRef = useRef(scale);
  const live = vm.state === 'running' || vm.state === 'paused';
  const id = vm.config.id;
  const name = vm.config.name;

  useEffect(() => {
    const el = screen.current;
    if (!live || !el) return;
    setStatus('connecting');
    setProblem(null);
    let rfb: RFB;
    try {
      rfb = new RFB(el, openVnc(id), { shared: true });
    } catch (err) {
      setStatus('disconnected');
      setProblem(err instanceof Error ? err.message : String(err));
      return;
    }
    rfbRef.current = rfb;
    rfb.scaleViewport = scaleRef.current;
    rfb.background = '#000';
    rfb.focusOnClick = true;
    let ended = false;
    const onConnect = (): void => setStatus('connected');
    const onDisconnect = (ev: Event): void => {
      ended = true;
      setStatus('disconnected');
      const clean = (ev as CustomEvent<{ clean?: boolean }>).detail?.clean;
      setProblem(clean ? null : 'the connection to the screen was lost');
    };
    const onFocusIn = (): void => setGrabbed(true);
    const onFocusOut = (): void => setGrabbed(false);
    rfb.addEventListener('connect', onConnect);
    rfb.addEventListener('disconnect', onDisconnect);
    el.addEventListener('focusin', onFocusIn);
    el.addEventListener('focusout', onFocusOut);
    return () => {
      rfb.removeEventListener('connect', onConnect);
      rfb.removeEventListener('disconnect', onDisconnect);
      el.removeEventListener('focusin', onFocusIn);
      el.removeEventListener('focusout', onFocusOut);
      if (!ended) {
        try { rfb.disconnect(); } catch { /* already gone */ }
      }
      rfbRef.current = null;
      setGrabbed(false);
    };
  }, [live, id, openVnc, attempt]);

  useEffect(() => {
    scaleRef.current = scale;
    if (rfbRef.current) rfbRef.current.scaleViewport = scale;
  }, [scale]);

  useEffect(() => {
    const onChange = (): void => setFullscreen(document.fullscreenElement !== null && document.fullscreenElement === frame.current);
    document.addEventListener('fullscreenchange', onChange);
    return () => document.removeEventListener('fullscreenchange', onChange);
  }, []);

  const toggleFullscreen = useCallback(() => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void frame.current?.requestFullscreen().then(() => rfbRef.current?.focus(), () => undefined);
  }, []);

  const screenshot = useCallback(() => {
    rfbRef.current?.toBlob((blob) => {
      if (!blob) return;
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = screenshotName(name);
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    }, 'image/png');
  }, [name]);

  const send = useCallback((chord: KeyChord) => {
    setMenuOpen(false);
    sendKeys(id, chord.keys).then(() => rfbRef.current?.focus(), (err: unknown) => {
      setProblem(`Send ${chord.label} failed: ${err instanceof Error ? err.message : String(err)}`);
    });
  }, [id, sendKeys]);

  if (!live) {
    return <div className="screen-view"><p className="placeholder">The VM is not running.</p></div>;
  }
  const connected = status === 'connected';
  return (
    <div className="screen-view vnc-view" ref={frame}>
      <div className="console-bar" role="toolbar" aria-label="Screen">
        <span className={`screen-status screen-${status}`}>Screen: {status}</span>
        <button type="button" className="btn small" aria-pressed={scale} onClick={() => setScale((v) => !v)}
          title={scale ? 'Show the guest screen pixel for pixel' : 'Fit the guest screen into the window'}>
          {scale ? 'Scaled to window' : '1:1'}
        </button>
        <button type="button" className="btn small" onClick={toggleFullscreen}>{fullscreen ? 'Exit fullscreen' : 'Fullscreen'}</button>
        <div className="menu-anchor">
          <button type="button" className="btn small" aria-haspopup="menu" aria-expanded={menuOpen} disabled={!connected}
            onClick={() => setMenuOpen((v) => !v)}>
            Send key
          </button>
          {menuOpen && (
            <ul role="menu" aria-label="Send key" className="key-menu">
              {SEND_KEY_CHORDS.map((c) => (
                <li key={c.label} role="none">
                  <button type="button" role="menuitem" onClick={() => send(c)}>{c.label}</button>
                </li>
              ))}
            </ul>
          )}
        </div>
        <button type="button" className="btn small" disabled={!connected} onClick={screenshot}>Screenshot</button>
        {status === 'disconnected' && (
          <button type="button" className="btn small" onClick={() => setAttempt((n) => n + 1)}>Reconnect</button>
        )}
        <span className={`grab-hint${grabbed ? ' grabbed' : ''}`} role="status">
          {grabbed ? 'Keyboard captured by the guest: click outside the screen to release it' : 'Click the screen to type into the guest'}
        </span>
      </div>
      {problem && <p className="form-error" role="alert">{problem}</p>}
      <div ref={screen} className={`vnc-screen${scale ? ' scaled' : ''}`} role="application" aria-label={`Screen of ${name}`} />
    </div>
  );
}
