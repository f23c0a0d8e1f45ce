// Checked by `tsc` with a bundler's resolution (tsconfig.json) and Node's (tsconfig.node.json),
// never run or bundled: the package's types reach a TypeScript consumer (each @ts-expect-error
// fails the check if its line is accepted, as it would be were the import typed any).
import SignalSocket from 'django-clientsignal';

export function typed(sock: SignalSocket): Promise<number> {
  const options: SignalSocket.Options = {transports: ['websocket'], maxRetries: 3};
  const open: 1 = SignalSocket.OPEN;
  sock.on('close', (info: SignalSocket.CloseInfo) => info.code + open);
  sock.on('gap', (info) => info.streams.map((stream) => stream.kind + ' ' + stream.name));
  sock.on('join', (info) => (info.where.kind === 'room' ? info.where.args : info.where.name));
  // @ts-expect-error: a stream's kind is one of five
  sock.on('gap', (info) => info.streams.filter((stream) => stream.kind === 'class'));
  // A refused payload: the field its schema refused (a path) and the type it declares.
  sock.on('error', (info) => {
    const refused: [string, string | undefined, string | undefined] = [info.message, info.field, info.expected];
    return refused;
  });
  sock.call('order', {lines: []}).catch((error: SignalSocket.CallError) => {
    const field: string | undefined = error.reply?.field;
    return field;
  });
  // @ts-expect-error: an event's name is needed
  sock.send();
  // @ts-expect-error: a close code is a number
  sock.close('1000');
  // @ts-expect-error: no such option
  new SignalSocket('/simple', {...options, reconect: false});
  return sock.call<number>('add', {a: 1, b: 2}, {timeout: 1000});
}
