// Bytes waiting for one socket in this process: the packets Engine.IO holds until its
// transport can take them, plus what the WebSocket accepted but could not yet hand to
// the kernel. Counted as packets are made, so reading it costs nothing.

interface EnginePacket {
  data?: unknown;
}

interface EngineConn {
  on(event: 'packetCreate', fn: (packet: EnginePacket) => void): unknown;
  on(event: 'flush', fn: () => void): unknown;
  transport?: { socket?: { bufferedAmount?: number } };
}

function size(data: unknown): number {
  if (typeof data === 'string') return data.length;
  if (data instanceof Uint8Array) return data.byteLength;
  return 0;
}

export class SocketBytes {
  private pending = 0;

  constructor(private readonly conn: EngineConn) {
    conn.on('packetCreate', (packet) => {
      this.pending += size(packet.data);
    });
    // The whole write buffer goes to the transport at once; from then on the WebSocket counts it.
    conn.on('flush', () => {
      this.pending = 0;
    });
  }

  get bytes(): number {
    return this.pending + (this.conn.transport?.socket?.bufferedAmount ?? 0);
  }
}
