// The process-tier baseline: a bare child that echoes every IPC message.
process.on('message', (m) => process.send(m));
process.send('up');
