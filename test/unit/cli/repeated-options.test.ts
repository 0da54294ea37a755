/**
 * repeatedOptions: a one-value option given twice (`--model a --model b`) is named, since commander keeps
 * the last without a word; variadic options, flags without a value and anything after `--` are not counted.
 */
import { Command, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { dimFlag, hostFlag, intFlag, optionsTakenAsValue, repeatedOptions } from '../../../services/cli/common.ts';

const command = new Command('gate')
  .option('--model <id>', 'model')
  .option('-s, --server <id>', 'server')
  .option('-p, --param <name=value...>', 'repeatable')
  .option('--json', 'flag')
  .addOption(new Option('--z <z>', 'optional value').preset('1'))
  .option('--servers <ids>', 'collects, like gate\'s', (v: string, previous?: string[]) => [...(previous ?? []), ...v.split(',')])
  .addOption(new Option('--port <n>', 'validated').argParser(intFlag('--port', 0, 65_535)))
  .addOption(new Option('--dim <name=n>', 'collects into a record, like profile\'s').argParser(dimFlag));

describe('repeatedOptions', () => {
  it('names a one-value option given twice, in the long, --long=value and short spellings', () => {
    expect(repeatedOptions(command, ['gate', '--model', 'a', '--model', 'b'])).toEqual(['--model']);
    expect(repeatedOptions(command, ['gate', '--model=a', '--model', 'b', '-s', 'x', '--server=y'])).toEqual(['--model', '--server']);
    expect(repeatedOptions(command, ['gate', '--z', '1', '--z=2'])).toEqual(['--z']);
    expect(repeatedOptions(command, ['gate', '--port', '1', '--port', '2'])).toEqual(['--port']);
    expect(repeatedOptions(command, ['gate', '-sx', '-s', 'y'])).toEqual(['--server']);
  });

  it('does not count variadic options, flags, a single use, or what follows --', () => {
    expect(repeatedOptions(command, ['gate', '-p', 'a=1', '-p', 'b=2', '--param', 'c=3'])).toEqual([]);
    expect(repeatedOptions(command, ['gate', '--servers', 'a', '--servers', 'b,c'])).toEqual([]);
    // A record of name=value pairs (a trial: profile --dim seq=8 --dim h=4 was refused as given twice).
    expect(repeatedOptions(command, ['gate', '--dim', 'seq=8', '--dim', 'h=4'])).toEqual([]);
    expect(repeatedOptions(command, ['gate', '--json', '--json', '--model', 'a'])).toEqual([]);
    expect(repeatedOptions(command, ['gate', '--model', 'a', '--', '--model', 'b'])).toEqual([]);
    // A value that only starts like the option (--modelx) is another word.
    expect(repeatedOptions(command, ['gate', '--model', 'a', '--modelx', 'b'])).toEqual([]);
  });
});

describe('hostFlag', () => {
  it('keeps an address or name without surrounding blanks, and refuses an empty one (every interface)', () => {
    expect([hostFlag('--host')(' 127.0.0.1 '), hostFlag('--host')('localhost')]).toEqual(['127.0.0.1', 'localhost']);
    for (const bad of ['', '  ', 'a b']) expect(() => hostFlag('--host')(bad)).toThrow(`--host must be an interface address or host name (e.g. 127.0.0.1, or 0.0.0.0 for every interface), got ${JSON.stringify(bad)}`);
  });

  it('refuses four numbers that are no IPv4 address, before any lookup (a trial: 999.1.1.1 failed as a host name, exit 1)', () => {
    for (const bad of ['999.1.1.1', '1.2.3', '10.0.0.256']) expect(() => hostFlag('--host')(bad)).toThrow(`--host must be an interface address or host name, got ${JSON.stringify(bad)}: not an IPv4 address (four numbers 0..255)`);
    expect(hostFlag('--metrics-host')('0.0.0.0')).toBe('0.0.0.0');
    // IPv6, bracketed or not; anything else must be a host name (a re-test: these were looked up, exit 1).
    expect([hostFlag('--host')('::1'), hostFlag('--host')('[::1]'), hostFlag('--host')('edge-box.local')]).toEqual(['::1', '::1', 'edge-box.local']);
    expect(() => hostFlag('--host')('1::2::3')).toThrow('--host must be an interface address or host name, got "1::2::3": not an IPv6 address (a port goes to --port)');
    expect(() => hostFlag('--host')('999.1.1.1:80')).toThrow(/not an IPv6 address/);
    for (const bad of ['1.1.1.1/24', '-1.2.3.4', '\uff11\uff12\uff17.0.0.1']) expect(() => hostFlag('--host')(bad)).toThrow(/a host name is letters, digits, hyphens and dots$/);
  });
});

describe('optionsTakenAsValue (a trial: `gate --version --json`, an empty $VER, read the version "--json" and exited 2 with text)', () => {
  it('names an option whose value is the name of one of the command\'s options, or -h / --help', () => {
    expect(optionsTakenAsValue(command, ['gate', '--model', '--json', '--server', 'x'])).toEqual(['--model "--json"']);
    expect(optionsTakenAsValue(command, ['gate', '-s', '--port=8080', '--model', '-h'])).toEqual(['-s "--port=8080"', '--model "-h"']);
    expect(optionsTakenAsValue(command, ['gate', '--model', '-s', 'x'])).toEqual(['--model "-s"']);
  });

  it('leaves a value starting with a dash that names no option, an explicit --option=value, and what follows --', () => {
    expect(optionsTakenAsValue(command, ['gate', '--port', '-1', '--model', '-x', '--server', '--nope'])).toEqual([]);
    expect(optionsTakenAsValue(command, ['gate', '--model=--json', '--json'])).toEqual([]);
    expect(optionsTakenAsValue(command, ['gate', '--json', '--', '--model', '--json'])).toEqual([]);
  });
});
