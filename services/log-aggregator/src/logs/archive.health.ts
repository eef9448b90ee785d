import { Injectable } from '@nestjs/common';
import { BatchedFileAppender } from './batched-file.appender';

/** Down while the last write to some log file failed (full disk, lost permissions): records are piling up in the queues. */
@Injectable()
export class ArchiveHealthCheck {
  readonly name = 'archive';

  constructor(private readonly appender: BatchedFileAppender) {}

  async check(): Promise<void> {
    const [first, ...others] = this.appender.failures();
    if (first) {
      throw new Error(
        `cannot write ${first.path}: ${first.error}${others.length > 0 ? ` (and ${others.length} other file(s))` : ''}`,
      );
    }
  }
}
