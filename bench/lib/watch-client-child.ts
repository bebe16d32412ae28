/**
 * Child process of {@link spawnWatchers}: `node watch-client-child.js <port> <path> <count>`.
 * Opens the watchers, reports `ready`, progress (`answered`, when it changed, at most once per 50 ms) and
 * finally `done` with every result over IPC; closes the sockets and exits when the parent
 * disconnects.
 */
import { openWatchers, type ChildMessage } from './watch-client.js';

const [port, path, count] = process.argv.slice(2);
const send = (m: ChildMessage): void => void process.send!(m);
const w = openWatchers(Number(port), path!, Number(count));
w.ready.then(
  () => send({ type: 'ready' }),
  (e: unknown) => send({ type: 'error', message: String(e) }),
);
let reported = 0;
const progress = setInterval(() => {
  if (w.answered() !== reported) send({ type: 'answered', n: (reported = w.answered()) });
}, 50);
w.done.then(
  (results) => {
    clearInterval(progress);
    // The sockets stay open until the parent disconnects, so closing them is not measured.
    send({ type: 'done', results });
  },
  (e: unknown) => {
    clearInterval(progress);
    send({ type: 'error', message: String(e) });
    w.close();
  },
);
process.on('disconnect', () => {
  clearInterval(progress);
  w.close();
});
