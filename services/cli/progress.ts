import cliProgress from 'cli-progress';

/** Progress display of long work on stderr: a bar on a terminal, one line per stage otherwise. */
export interface Progress {
  /** Start a stage of `total` items (0: not known), counted in `unit` (default `records`). */
  stage(name: string, total: number, unit?: string): void;
  update(done: number): void;
  stop(): void;
  /** Say a line (`edgelat: <line>`) between the stage lines, or above the bar on a terminal, which then goes on. */
  note(line: string): void;
}

/**
 * Create a progress display. On a TTY it draws a bar (cli-progress); elsewhere
 * (CI, pipes, and a terminal that says TERM=dumb, which takes no cursor movement)
 * it prints one line when a stage starts, so logs stay readable. On a TTY a stage
 * without a total (0) shows no bar: its name, then the records it counted.
 * @param stream  Where it writes. @default process.stderr
 * @param term    The terminal type. @default process.env.TERM
 */
export function createProgress(stream: NodeJS.WriteStream = process.stderr, term: string | undefined = process.env.TERM): Progress {
  if (!stream.isTTY || term === 'dumb') {
    return {
      stage: (name, total, unit = 'records') => stream.write(`edgelat: ${name}${total ? ` (${total.toLocaleString('en-US')} ${unit})` : ''}...\n`),
      update: () => {},
      stop: () => {},
      note: (line) => stream.write(`edgelat: ${line}\n`),
    };
  }
  // A stage with a total draws a bar; one without (the pipeline's stages, training) counts what it did, or says
  // its name until it has a count (a trial: "0/1 records" beside the minute-long training stage).
  // "edgelat: " as on every other line of stderr (a trial: a log filter on `^edgelat: ` missed the terminal's lines).
  const formats = { counted: 'edgelat: {stage} [{bar}] {value}/{total} {unit}', counting: 'edgelat: {stage} {value} {unit}', waiting: 'edgelat: {name}...' };
  const bar = new cliProgress.SingleBar(
    {
      format: (options, params, payload: { counted?: boolean }) => cliProgress.Format.Formatter(
        { ...options, format: payload.counted ? formats.counted : params.value > 0 ? formats.counting : formats.waiting }, params, payload),
      stream, hideCursor: true, clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let payload: { stage: string; name: string; unit: string; counted: boolean } | null = null;
  let value = 0;
  return {
    stage(name, total, unit = 'records') {
      if (started) bar.stop();
      payload = { stage: name.padEnd(12), name, unit, counted: total > 0 };
      value = 0;
      bar.start(Math.max(total, 1), 0, payload);
      started = true;
    },
    update(done) {
      if (done > bar.getTotal()) bar.setTotal(done);
      bar.update(done);
      value = done;
    },
    note(line) {
      // The bar's line is left as it was, the note below it, and the bar drawn again below the note.
      const total = bar.getTotal();
      if (started) bar.stop();
      stream.write(`edgelat: ${line}\n`);
      if (started && payload) bar.start(total, value, payload);
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
