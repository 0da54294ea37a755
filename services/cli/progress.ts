import cliProgress from 'cli-progress';

/** Progress display of long work on stderr: a bar on a terminal, one line per stage otherwise. */
export interface Progress {
  stage(name: string, total: number): void;
  update(done: number): void;
  stop(): void;
}

/**
 * Create a progress display. On a TTY it draws a bar (cli-progress); elsewhere
 * (CI, pipes) it prints one line when a stage starts, so logs stay readable.
 */
export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) {
    return {
      stage: (name, total) => stream.write(`edgelat: ${name}${total ? ` (${total.toLocaleString('en-US')} records)` : ''}...\n`),
      update: () => {},
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar(
    { format: 'edgelat {stage} [{bar}] {value}/{total} records', stream, hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    stage(name, total) {
      if (started) bar.stop();
      bar.start(Math.max(total, 1), 0, { stage: name.padEnd(12) });
      started = true;
    },
    update(done) {
      if (done > bar.getTotal()) bar.setTotal(done);
      bar.update(done);
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
