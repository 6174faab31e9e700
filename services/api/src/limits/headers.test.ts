import { describe, expect, test } from 'vitest';
import { sameHostSockets } from './headers';

describe('sameHostSockets', () => {
  test.each([
    ['localhost:3000', 'ws://localhost:3000 wss://localhost:3000'],
    ['app.example.com', 'ws://app.example.com wss://app.example.com'],
    ['127.0.0.1:41234', 'ws://127.0.0.1:41234 wss://127.0.0.1:41234'],
    ['[::1]:3000', 'ws://[::1]:3000 wss://[::1]:3000'],
    [undefined, ''],
    ['', ''],
    // Anything but a host and port could smuggle a directive into the policy.
    ["evil.com; script-src 'unsafe-inline'", ''],
    ['a.com,b.com', ''],
    ['a.com b.com', ''],
    ['user@a.com', ''],
  ])('%s', (host, sources) => {
    expect(sameHostSockets(host)).toBe(sources);
  });
});
