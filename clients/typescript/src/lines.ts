import { EgressdProtocolError } from './errors.js';

const NEWLINE = 0x0a;

/**
 * Cuts a byte stream into `\n`-terminated UTF-8 lines of at most `maxLineBytes` bytes (newline
 * excluded). A longer line fails as soon as it is longer, without waiting for its end, so a
 * runaway peer costs at most that much memory.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(private readonly maxLineBytes: number) {}

  /**
   * The lines that `chunk` completes, in order.
   *
   * @throws EgressdProtocolError for a line that is too long or not UTF-8
   */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      this.keep(chunk.subarray(start, end));
      lines.push(this.decode(Buffer.concat(this.pending, this.pendingBytes)));
      this.pending = [];
      this.pendingBytes = 0;
      start = end + 1;
    }
    this.keep(chunk.subarray(start));
    return lines;
  }

  /** Whether a line has begun and not ended (the peer stopped in the middle of it). */
  hasPartialLine(): boolean {
    return this.pendingBytes > 0;
  }

  private keep(part: Buffer): void {
    if (part.length === 0) return;
    this.pendingBytes += part.length;
    if (this.pendingBytes > this.maxLineBytes) {
      throw new EgressdProtocolError(`a line from egressd is longer than ${this.maxLineBytes} bytes`);
    }
    this.pending.push(part);
  }

  private decode(line: Buffer): string {
    try {
      return this.decoder.decode(line);
    } catch (cause) {
      throw new EgressdProtocolError('a line from egressd is not valid UTF-8', { cause });
    }
  }
}
