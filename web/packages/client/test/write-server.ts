// The write queue's tests write through the test kit's fake API, in this project's REST
// convention or another one (for the queue's `rest` option).
import { startFakeApi, type FakeApi } from '@realtime/testkit';

export { FakeApi as WriteServer, type Fault, type Recorded } from '@realtime/testkit';

export function startWriteServer(convention: 'api' | 'items' = 'api'): Promise<FakeApi> {
  return startFakeApi({ convention });
}
