/**
 * The progress display: a bar for a stage with a total, a count for one without (a trial: "0/1 records" beside the
 * minute-long training stage, and the produce and ground-truth stages stayed at 0/102043), plain lines where the
 * terminal takes no cursor movement (TERM=dumb) or stderr is no terminal.
 */
import { describe, expect, it } from 'vitest';
import { createProgress } from '../../../services/cli/progress.ts';

/** A stream that says it is a terminal and keeps what is written, escape sequences removed. */
function fakeTerminal(): { stream: NodeJS.WriteStream; text: () => string } {
  let out = '';
  const stream = {
    isTTY: true, columns: 120,
    write: (s: string) => { out += s; return true; },
    cursorTo: () => true, clearLine: () => true, moveCursor: () => true, clearScreenDown: () => true,
    on: () => stream, removeListener: () => stream, off: () => stream,
  } as unknown as NodeJS.WriteStream;
  // eslint-disable-next-line no-control-regex
  return { stream, text: () => out.replace(/\u001b(\[[0-9;?]*[A-Za-z]|[78])/g, '') };
}

describe('createProgress', () => {
  it('on a terminal: a bar with done/total for a counted stage, the count alone or the name for the others', () => {
    const t = fakeTerminal();
    const p = createProgress(t.stream, 'xterm-256color');
    p.stage('produce', 10);
    p.update(10);
    p.stage('join', 0);
    p.update(1234);
    p.stage('latency models 1/2', 0);
    p.stop();
    const text = t.text();
    expect(text).toMatch(/edgelat: produce {6}\[[^\]]+\] 10\/10 records/);
    expect(text).toMatch(/edgelat: join {9}1234 records/);
    expect(text).toMatch(/edgelat: latency models 1\/2\.\.\./);
    expect(text).not.toMatch(/\/1 records/);
    // Another unit (the backtest's rollouts), on the bar and on the plain line.
    const r = fakeTerminal();
    const rp = createProgress(r.stream, 'xterm');
    rp.stage('gating', 102, 'rollouts');
    rp.update(51);
    rp.stop();
    expect(r.text()).toMatch(/edgelat: gating {7}\[[^\]]+\] 51\/102 rollouts/);
    const plain = fakeTerminal();
    (plain.stream as { isTTY: boolean }).isTTY = false;
    createProgress(plain.stream, 'xterm').stage('gating', 102, 'rollouts');
    expect(plain.text()).toBe('edgelat: gating (102 rollouts)...\n');
  });

  it('prints one line a stage where stderr is no terminal, or the terminal is dumb', () => {
    for (const [isTTY, term] of [[false, 'xterm'], [true, 'dumb']] as const) {
      const t = fakeTerminal();
      (t.stream as { isTTY: boolean }).isTTY = isTTY;
      const p = createProgress(t.stream, term);
      p.stage('produce', 102043);
      p.update(5000);
      p.stage('join', 0);
      p.stop();
      expect(t.text()).toBe('edgelat: produce (102,043 records)...\nedgelat: join...\n');
    }
  });

  it('a note goes between the stage lines, or below the bar, which is drawn again below it where it was', () => {
    const plain = fakeTerminal();
    (plain.stream as { isTTY: boolean }).isTTY = false;
    const p = createProgress(plain.stream, 'xterm');
    p.stage('alerts', 0);
    p.note('alerts: delivery paused');
    expect(plain.text()).toBe('edgelat: alerts...\nedgelat: alerts: delivery paused\n');
    const t = fakeTerminal();
    const bar = createProgress(t.stream, 'xterm');
    bar.stage('produce', 10);
    bar.update(4);
    bar.note('something happened');
    bar.update(6);
    bar.stop();
    const text = t.text();
    const [before, after] = [text.indexOf('something happened'), text.lastIndexOf('6/10 records')];
    expect([before > text.indexOf('4/10 records'), after > before, text.indexOf('6/10 records') > before]).toEqual([true, true, true]);
    expect(text).toContain('edgelat: something happened\n');
  });
});
