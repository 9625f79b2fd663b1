/**
 * The download manager, made for the virtio-win driver ISO (Windows guests) but usable for
 * any ISO: node:http/https with redirects, progress (bytes, total, speed, ETA), cancel,
 * resume with an HTTP Range request after a dropped connection (and a restart from zero
 * when the server ignores ranges), a `.part` file renamed into place only after the
 * result was verified to be an ISO 9660/UDF image. An HTML answer (an error or login
 * page) is refused with a message that says so.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { VIRTIO_WIN_DEFAULT_URL, type ApiEventPayload, type DownloadProgress } from '../../protocol/index.js';
import { IsoImage, NotIsoError } from './os-detect/index.js';

/** What the manager reports; shaped as the API's download.* events. */
export type DownloadEvent =
  | { kind: 'progress'; payload: DownloadProgress }
  | { kind: 'done'; payload: ApiEventPayload<'download.done'> }
  | { kind: 'failed'; payload: ApiEventPayload<'download.failed'> };

/** Options of {@link DownloadManager}. */
export interface DownloadManagerOptions {
  /** Receives every event. */
  onEvent(event: DownloadEvent): void;
  /** Consecutive attempts without new bytes before giving up (default 5). */
  maxRetries?: number;
  /** Pause before a retry, times the attempt number (default 500 ms). */
  retryDelayMs?: number;
  /** A connection silent this long is dropped and retried (default 30 s). */
  stallTimeoutMs?: number;
  /** Smallest interval between progress events of one download (default 250 ms). */
  progressIntervalMs?: number;
}

/** A download in progress. */
interface Job {
  id: string;
  url: string;
  dest: string;
  part: string;
  cancelled: boolean;
  current: http.ClientRequest | null;
}

class DownloadError extends Error {
  /** Whether trying again may help (a reset or stalled connection, not a refusal or a 404). */
  constructor(message: string, readonly retryable = false) {
    super(message);
  }
}
class Cancelled extends Error {}

const MAX_REDIRECTS = 5;

/** The file name a URL suggests ("virtio-win.iso"; ".iso" added when it has no extension), else "download.iso". */
export function fileNameOf(url: string): string {
  const base = decodeURIComponent(path.posix.basename(new URL(url).pathname));
  const safe = base.replace(/[^\w.+-]/g, '_');
  if (!safe || safe === '.' || safe === '..') return 'download.iso';
  return path.extname(safe) ? safe : `${safe}.iso`;
}

/** `dir/name`, or `dir/name-1.ext`, `-2`, ... when the name (or its .part) is taken. */
function uniquePath(dir: string, name: string): string {
  const ext = path.extname(name);
  const stem = name.slice(0, name.length - ext.length);
  for (let i = 0; ; i++) {
    const p = path.join(dir, i === 0 ? name : `${stem}-${i}${ext}`);
    if (!existsSync(p) && !existsSync(`${p}.part`)) return p;
  }
}

/** Runs downloads; one instance per host. */
export class DownloadManager {
  private readonly jobs = new Map<string, Job>();
  private readonly maxRetries: number;
  private readonly retryDelayMs: number;
  private readonly stallTimeoutMs: number;
  private readonly progressIntervalMs: number;

  /** @param options where events go, retry and timing knobs */
  constructor(private readonly options: DownloadManagerOptions) {
    this.maxRetries = options.maxRetries ?? 5;
    this.retryDelayMs = options.retryDelayMs ?? 500;
    this.stallTimeoutMs = options.stallTimeoutMs ?? 30_000;
    this.progressIntervalMs = options.progressIntervalMs ?? 250;
  }

  /**
   * Starts downloading `url` (default: the virtio-win ISO) into the existing folder
   * `destDir`; returns at once. The file gets the URL's name (made unique).
   */
  start(params: { url?: string; destDir: string }): { id: string; url: string; path: string } {
    const url = params.url ?? VIRTIO_WIN_DEFAULT_URL;
    const protocol = new URL(url).protocol;
    if (protocol !== 'http:' && protocol !== 'https:') throw new Error(`url: only http and https are supported, not ${protocol}`);
    const dest = uniquePath(params.destDir, fileNameOf(url));
    const job: Job = { id: randomUUID(), url, dest, part: `${dest}.part`, cancelled: false, current: null };
    this.jobs.set(job.id, job);
    void this.run(job);
    return { id: job.id, url, path: dest };
  }

  /** Cancels download `id`; false when it is unknown or already over. */
  cancel(id: string): boolean {
    const job = this.jobs.get(id);
    if (!job) return false;
    job.cancelled = true;
    job.current?.destroy(new Cancelled('cancelled'));
    return true;
  }

  /** Ids of the downloads still running. */
  active(): string[] {
    return [...this.jobs.keys()];
  }

  /** Cancels every download. */
  closeAll(): void {
    for (const id of [...this.jobs.keys()]) this.cancel(id);
  }

  private async run(job: Job): Promise<void> {
    const { onEvent } = this.options;
    try {
      await this.fetchInto(job);
      if (job.cancelled) throw new Cancelled('cancelled');
      let label: string | null;
      try {
        const img = await IsoImage.open(job.part);
        label = img.info.udfLabel ?? img.info.isoLabel;
        await img.close();
      } catch (err) {
        if (err instanceof NotIsoError) {
          throw new DownloadError(`${job.url} did not deliver an ISO image: ${err.message.replace(/^not an ISO 9660\/UDF image: /, 'the file ')}`);
        }
        throw err;
      }
      const { size } = await stat(job.part);
      await rename(job.part, job.dest);
      this.jobs.delete(job.id);
      onEvent({ kind: 'done', payload: { id: job.id, path: job.dest, sizeBytes: size, label } });
    } catch (err) {
      this.jobs.delete(job.id);
      await unlink(job.part).catch(() => undefined);
      const cancelled = job.cancelled || err instanceof Cancelled;
      const message = cancelled ? `download of ${job.url} cancelled` : err instanceof Error ? err.message : String(err);
      onEvent({ kind: 'failed', payload: { id: job.id, error: message, cancelled } });
    }
  }

  /** Downloads into `job.part`, resuming after dropped connections. */
  private async fetchInto(job: Job): Promise<void> {
    let offset = 0;
    let total: number | null = null;
    let fruitless = 0;
    const speed = { lastAt: Date.now(), lastBytes: 0, bytesPerSec: 0, lastEmit: 0 };
    const emit = (received: number, force = false): void => {
      const now = Date.now();
      if (!force && now - speed.lastEmit < this.progressIntervalMs) return;
      const dt = (now - speed.lastAt) / 1000;
      if (dt >= 0.2) {
        const rate = (received - speed.lastBytes) / dt;
        speed.bytesPerSec = speed.bytesPerSec === 0 ? Math.max(0, rate) : Math.max(0, 0.7 * speed.bytesPerSec + 0.3 * rate);
        speed.lastAt = now;
        speed.lastBytes = received;
      }
      speed.lastEmit = now;
      const etaSec = total !== null && speed.bytesPerSec > 0 ? Math.max(0, (total - received) / speed.bytesPerSec) : null;
      this.options.onEvent({
        kind: 'progress',
        payload: { id: job.id, receivedBytes: received, totalBytes: total, bytesPerSec: speed.bytesPerSec, etaSec },
      });
    };
    for (;;) {
      if (job.cancelled) throw new Cancelled('cancelled');
      let res: IncomingMessage;
      try {
        res = await this.request(job, job.url, offset > 0 ? { Range: `bytes=${offset}-` } : {});
      } catch (err) {
        if (!(err instanceof DownloadError) || !err.retryable) throw err;
        fruitless++;
        if (fruitless >= this.maxRetries) throw new DownloadError(`${err.message} (${fruitless} attempts in a row)`);
        await new Promise((r) => setTimeout(r, this.retryDelayMs * fruitless));
        continue;
      }
      let append = false;
      if (res.statusCode === 206 && offset > 0) {
        const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
        if (m && Number(m[1]) === offset) {
          append = true;
          if (m[3] !== '*') total = Number(m[3]);
        } else {
          res.destroy();
          offset = 0; // a range we did not ask for: start over
          continue;
        }
      } else if (res.statusCode === 200) {
        const len = Number(res.headers['content-length']);
        total = Number.isFinite(len) && len > 0 ? len : null;
        offset = 0; // a fresh start, or the server ignored our Range header
      } else if (res.statusCode === 416 && offset > 0) {
        res.resume();
        const m = /\/(\d+)$/.exec(res.headers['content-range'] ?? '');
        if (m && Number(m[1]) === offset) return; // we already have it all
        offset = 0;
        continue;
      } else {
        res.resume();
        throw new DownloadError(`${job.url}: the server answered HTTP ${res.statusCode ?? '?'} ${res.statusMessage ?? ''}`.trim());
      }
      const type = String(res.headers['content-type'] ?? '');
      if (/text\/html|application\/xhtml/i.test(type)) {
        res.destroy();
        throw new DownloadError(`${job.url}: the server sent an HTML page (${type}) instead of an ISO image; check the URL (it may need a login or point at a web page)`);
      }
      const before = offset;
      const complete = await this.receive(job, res, append, offset, (n) => emit(n));
      offset = (await stat(job.part)).size;
      emit(offset, true);
      if (job.cancelled) throw new Cancelled('cancelled');
      if (complete && (total === null || offset >= total)) return;
      fruitless = offset > before ? 0 : fruitless + 1;
      if (fruitless >= this.maxRetries) {
        throw new DownloadError(`${job.url}: the connection dropped ${fruitless} times in a row at ${offset} bytes; giving up`);
      }
      await new Promise((r) => setTimeout(r, this.retryDelayMs * (fruitless + 1)));
    }
  }

  /** Writes one response body to the .part file; true when the body arrived complete. */
  private receive(job: Job, res: IncomingMessage, append: boolean, offset: number, progress: (received: number) => void): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const out = createWriteStream(job.part, { flags: append ? 'a' : 'w' });
      let received = offset;
      let complete = false;
      let writeError: Error | null = null;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (!out.write(chunk)) {
          res.pause();
          out.once('drain', () => res.resume());
        }
        progress(received);
      });
      res.on('error', () => undefined); // a dropped connection: handled on 'close'
      res.on('close', () => {
        complete = res.complete;
        out.end();
      });
      out.on('error', (err) => {
        writeError = err;
        res.destroy();
      });
      out.on('close', () => {
        if (writeError) reject(new DownloadError(`${job.part}: ${writeError.message}`));
        else resolve(complete);
      });
    });
  }

  /** GET `url` following redirects; resolves with the final response. */
  private request(job: Job, url: string, headers: Record<string, string>, redirects = 0): Promise<IncomingMessage> {
    return new Promise<IncomingMessage>((resolve, reject) => {
      const lib = url.startsWith('https:') ? https : http;
      const req = lib.get(url, { headers: { 'User-Agent': 'Vireo', Accept: '*/*', ...headers } }, (res) => {
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (status >= 300 && status < 400 && location) {
          res.resume();
          if (redirects >= MAX_REDIRECTS) {
            reject(new DownloadError(`${job.url}: more than ${MAX_REDIRECTS} redirects`));
            return;
          }
          const next = new URL(location, url).toString();
          if (!/^https?:/.test(next)) {
            reject(new DownloadError(`${job.url}: redirected to an unsupported URL ${next}`));
            return;
          }
          this.request(job, next, headers, redirects + 1).then(resolve, reject);
          return;
        }
        resolve(res);
      });
      job.current = req;
      req.setTimeout(this.stallTimeoutMs, () => req.destroy(new Error(`no data for ${this.stallTimeoutMs / 1000} s`)));
      req.on('error', (err) => {
        if (job.cancelled || err instanceof Cancelled) reject(new Cancelled('cancelled'));
        else {
          const code = (err as NodeJS.ErrnoException).code ?? '';
          const retryable = ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EAI_AGAIN'].includes(code) || /no data for|socket hang up/.test(err.message);
          reject(new DownloadError(`${url}: ${err.message}`, retryable));
        }
      });
    });
  }
}
