// The write queue's tests write through the test kit's fake API.
export { FakeApi as WriteServer, startFakeApi as startWriteServer, type Fault, type Recorded } from '@realtime/testkit';
