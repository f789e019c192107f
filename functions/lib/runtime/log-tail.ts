/** Reading the end of a log file that may be far larger than what an executor log keeps. */
import { open } from 'node:fs/promises';

/**
 * Reads at most the last `maxBytes` bytes of a file as UTF-8. A character
 * cut in two by the start of the window is dropped rather than decoded
 * into a replacement character. A missing file reads as an empty string.
 */
export async function readTail(file: string, maxBytes: number): Promise<string> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, size - length);
    let start = 0;
    if (size > length) {
      // UTF-8 continuation bytes are 10xxxxxx; skip those of a character that began before the window.
      while (start < bytesRead && start < 3 && ((buffer[start] ?? 0) & 0xc0) === 0x80) start++;
    }
    return buffer.subarray(start, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}
