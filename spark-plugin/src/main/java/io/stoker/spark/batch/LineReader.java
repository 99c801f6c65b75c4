package io.stoker.spark.batch;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;

/**
 * Streams the lines of one byte range of a JSONL file, holding at most one line (up to {@code maxLineBytes}) and a
 * 64 KiB read buffer in memory, however large the file.
 *
 * <p>Which lines a range owns: range {@code [start, end)} owns every line whose first byte lies in it (line starts are
 * offset 0 and the byte after each {@code '\n'}). A range that starts mid-file is read from {@code start - 1}: the
 * bytes up to and including the first {@code '\n'} belong to the previous range. The last owned line is read to its
 * end even past {@code end}. So ranges that tile a file yield each line exactly once.
 *
 * <p>A line longer than {@code maxLineBytes} is not buffered: its first {@code maxLineBytes} bytes are kept, the rest
 * is counted and skipped, and {@link #truncated()} is true. Blank (whitespace-only) lines are skipped but counted.
 * A trailing {@code '\r'} is dropped. Single-threaded.
 */
final class LineReader implements Closeable {
    private static final int BUFFER = 64 * 1024;

    private final InputStream in;
    private final long end;
    private final int maxLineBytes;
    private final byte[] buf = new byte[BUFFER];
    private int bufPos;
    private int bufLen;
    private boolean eof;
    /** File offset of the next unread byte. */
    private long pos;
    private long nextLineNumber;

    private byte[] line;
    private int lineLength;
    private long lineBytes;
    private long lineNumber;
    private long lineStart;

    /**
     * @param in              the file's bytes from {@code max(0, start - 1)} (or from 0 for a stream that cannot seek,
     *                        with {@code start = 0})
     * @param start           first byte of the range
     * @param end             end of the range (exclusive); {@code Long.MAX_VALUE} for the whole stream
     * @param firstLineNumber the 1-based number of the first line that starts at or after {@code start}
     * @param maxLineBytes    longest line kept whole
     */
    LineReader(InputStream in, long start, long end, long firstLineNumber, int maxLineBytes) throws IOException {
        this.in = in;
        this.end = end;
        this.maxLineBytes = maxLineBytes;
        this.nextLineNumber = firstLineNumber;
        this.line = new byte[Math.min(1024, maxLineBytes)];
        if (start > 0) {
            pos = start - 1;
            int b;
            while ((b = read()) >= 0 && b != '\n') {
                // the partial line belongs to the previous range
            }
        }
    }

    /** @return true when a non-blank line owned by the range was read; false at the end of the range */
    boolean next() throws IOException {
        while (true) {
            if (pos >= end) {
                return false;
            }
            lineStart = pos;
            lineLength = 0;
            lineBytes = 0;
            int b = read();
            if (b < 0) {
                return false; // the end of the file is not the start of a line
            }
            boolean blank = true;
            while (b >= 0 && b != '\n') {
                if (lineBytes < maxLineBytes) {
                    if (lineLength == line.length) {
                        grow();
                    }
                    line[lineLength++] = (byte) b;
                }
                lineBytes++;
                if (blank && b != ' ' && b != '\t' && b != '\r') {
                    blank = false;
                }
                b = readFast();
            }
            if (lineLength > 0 && lineBytes == lineLength && line[lineLength - 1] == '\r') {
                lineLength--;
                lineBytes--;
            }
            lineNumber = nextLineNumber++;
            if (!blank) {
                return true;
            }
        }
    }

    private void grow() {
        byte[] bigger = new byte[(int) Math.min(maxLineBytes, Math.max(16L, line.length * 2L))];
        System.arraycopy(line, 0, bigger, 0, lineLength);
        line = bigger;
    }

    private int readFast() throws IOException {
        if (bufPos < bufLen) {
            pos++;
            return buf[bufPos++] & 0xff;
        }
        return read();
    }

    private int read() throws IOException {
        if (bufPos == bufLen) {
            if (eof) {
                return -1;
            }
            int n = in.read(buf, 0, buf.length);
            while (n == 0) {
                n = in.read(buf, 0, buf.length);
            }
            if (n < 0) {
                eof = true;
                return -1;
            }
            bufPos = 0;
            bufLen = n;
        }
        pos++;
        return buf[bufPos++] & 0xff;
    }

    /** @return the current line's bytes (valid up to {@link #length()}; reused by the next call) */
    byte[] bytes() {
        return line;
    }

    /** @return bytes of the current line kept in {@link #bytes()} */
    int length() {
        return lineLength;
    }

    /** @return true when the current line is longer than {@code maxLineBytes} and only its start was kept */
    boolean truncated() {
        return lineBytes > lineLength;
    }

    /** @return the current line's full length in bytes (without its line break) */
    long lineBytes() {
        return lineBytes;
    }

    /** @return the current line's 1-based number in the file */
    long lineNumber() {
        return lineNumber;
    }

    /** @return the file offset of the current line's first byte */
    long lineStart() {
        return lineStart;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
