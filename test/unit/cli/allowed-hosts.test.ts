/**
 * Which Host names `serve` answers (both ports): a trial found `--host 0.0.0.0` answering any Host, so a web
 * page on another name that resolves to this machine (DNS rebinding) could POST SQL to it.
 */
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { allowedHostsFlag } from '../../../services/cli/common.ts';
import { allowedHostsFor } from '../../../services/sql-endpoint/serve-command.ts';
import { browserRefusal, missingHostProblem } from '../../../services/sql-endpoint/protocol.ts';

const machine = { hostname: 'Edge-Gw', addresses: ['127.0.0.1', '10.0.0.5', 'fe80::1'] };

describe('allowedHostsFor', () => {
  it('on every interface: this machine\'s name and addresses, not any name', () => {
    const allowed = allowedHostsFor('0.0.0.0', [], machine);
    expect(allowed).toEqual(['edge-gw', '127.0.0.1', '10.0.0.5', 'fe80::1']);
    expect(browserRefusal({ host: '10.0.0.5:8123' }, allowed)).toBeNull();
    expect(browserRefusal({ host: 'edge-gw:8123' }, allowed)).toBeNull();
    expect(browserRefusal({ host: '[fe80::1]:8123' }, allowed)).toBeNull();
    expect(browserRefusal({ host: 'attacker.example:8123', origin: 'http://attacker.example:8123', 'sec-fetch-site': 'same-origin' }, allowed)).toBe("Host: attacker.example:8123 is not this machine's loopback name");
  });

  it('on one address: that one; --allowed-hosts adds names, or any', () => {
    expect(allowedHostsFor('10.0.0.5', [], machine)).toEqual(['10.0.0.5']);
    expect(allowedHostsFor('::', ['edgelat.internal'], machine)).toEqual(['edge-gw', '127.0.0.1', '10.0.0.5', 'fe80::1', 'edgelat.internal']);
    expect(allowedHostsFor('0.0.0.0', 'any', machine)).toBe('any');
    // 'any' turns the DNS-rebinding check off: such a page's Host, Origin and Sec-Fetch-Site look same-origin (the help says so).
    expect(browserRefusal({ host: 'rebind.evil.example:8123', origin: 'http://rebind.evil.example:8123', 'sec-fetch-site': 'same-origin' }, 'any')).toBeNull();
  });

  it('answers a request with no Host (HTTP/1.0: a browser always sends one); its Origin and Sec-Fetch-Site are still checked, and named', () => {
    expect(browserRefusal({}, [])).toBeNull();
    // A trailing dot (a fully qualified name) is the same name (a re-test: localhost. refused, 127.0.0.1. answered).
    expect([browserRefusal({ host: 'localhost.:8123' }, []), browserRefusal({ host: '127.0.0.1.:8123' }, [])]).toEqual([null, null]);
    expect(browserRefusal({ 'user-agent': 'probe' }, [])).toBeNull();
    // A re-test: these were refused as "Host:  is not this machine's loopback name".
    expect(browserRefusal({ origin: 'http://evil.example' }, [])).toBe('Origin: http://evil.example');
    expect(browserRefusal({ 'sec-fetch-site': 'cross-site' }, [])).toBe('Sec-Fetch-Site: cross-site');
    // An empty Host (RFC 9112 §3.2: a target without an authority) is no browser's either (a re-test: "Host: (empty)" read as one).
    expect(browserRefusal({ host: '' }, [])).toBeNull();
    expect(browserRefusal({ host: '', origin: 'http://evil.example' }, [])).toBe('Origin: http://evil.example');
    // More than one Host: 400 (RFC 9112 §3.2; a re-test: Node kept the first and the request was answered).
    expect(missingHostProblem({ httpVersion: '1.1', headers: { host: 'localhost' }, rawHeaders: ['Host', 'localhost', 'host', 'evil.com'] })).toBe('a request must carry one Host header (RFC 9112 §3.2), and this one has 2');
    expect(missingHostProblem({ httpVersion: '1.1', headers: { host: 'localhost' }, rawHeaders: ['Host', 'localhost', 'Accept', '*/*'] })).toBeNull();
    expect(missingHostProblem({ httpVersion: '1.0', headers: {}, rawHeaders: [] })).toBeNull();
  });
});

describe('--allowed-hosts', () => {
  it('takes names and addresses normalised as a Host is (lower case, IPv6 compressed, brackets dropped), or "any"', () => {
    expect(allowedHostsFlag('Edgelat.Internal, [::1],10.0.0.5,2001:DB8::0001')).toEqual(['edgelat.internal', '::1', '10.0.0.5', '2001:db8::1']);
    expect(allowedHostsFlag(' ANY ')).toBe('any');
    // Each can match (a trial: 2001:DB8::0001 was kept as written and could never match a Host).
    expect(browserRefusal({ host: '[2001:db8::1]:8123' }, allowedHostsFlag('2001:DB8::0001') as string[])).toBeNull();
  });

  it.each([[' , '], ['host:8080'], ['[::1]:8080'], ['host:'], ['a b'], ['http://x/'], ['user@host']])('refuses %j', (value) => {
    expect(() => allowedHostsFlag(value)).toThrow(InvalidArgumentError);
  });
});
