/**
 * The part of noVNC's `RFB` class (`@novnc/novnc` 1.7, core/rfb.js, no bundled types)
 * the console uses; see node_modules/@novnc/novnc/docs/API.md.
 */
declare module '@novnc/novnc' {
  /** A WebSocket or a WebSocket-like raw channel (see renderer/src/host-client/vnc-channel.ts). */
  type RfbChannel = string | object;

  /** Options of the RFB constructor. */
  interface RfbOptions {
    shared?: boolean;
    credentials?: { username?: string; password?: string; target?: string };
    wsProtocols?: string[];
  }

  /** A noVNC connection rendering into a canvas inside `target`. */
  export default class RFB extends EventTarget {
    constructor(target: HTMLElement, urlOrChannel: RfbChannel, options?: RfbOptions);
    viewOnly: boolean;
    focusOnClick: boolean;
    clipViewport: boolean;
    scaleViewport: boolean;
    resizeSession: boolean;
    showDotCursor: boolean;
    background: string;
    qualityLevel: number;
    compressionLevel: number;
    readonly capabilities: { power: boolean };
    disconnect(): void;
    sendCredentials(credentials: { password?: string }): void;
    sendCtrlAltDel(): void;
    sendKey(keysym: number, code: string | null, down?: boolean): void;
    focus(options?: FocusOptions): void;
    blur(): void;
    clipboardPasteFrom(text: string): void;
    toDataURL(type?: string, encoderOptions?: number): string;
    toBlob(callback: (blob: Blob | null) => void, type?: string, quality?: number): void;
  }
}
