import { describe, expect, test } from 'vitest';
import { listeningPort, sampleSum } from './spawn';

describe('listeningPort', () => {
  test.each([
    ['server', '\nOpen http://localhost:41234 (the app; realtime stream running)\n', 41234],
    ['api', '\nAPI running on 127.0.0.1:5001. API: http://localhost:5001/api/...', 5001],
    ['gateway', '\nGateway running on :::5002. Socket.IO: ws://localhost:5002/ws', 5002],
    ['replicator', '\nReplicator running on 0.0.0.0:5003. Health: http://localhost:5003/healthz', 5003],
    ['gateway', '{"msg":"starting"}\n', null],
    ['api', '\nOpen http://localhost:41234 (the app)', null],
  ] as const)('%s: %j', (main, output, port) => {
    expect(listeningPort(main, output)).toBe(port);
  });
});

test('sampleSum adds the series that carry the labels', () => {
  const text = ['# HELP x y', 'realtime_x{limit="a"} 2', 'realtime_x{limit="b"} 3', 'realtime_x_other 7'].join('\n');
  expect(sampleSum(text, 'realtime_x')).toBe(5);
  expect(sampleSum(text, 'realtime_x', { limit: 'b' })).toBe(3);
});
