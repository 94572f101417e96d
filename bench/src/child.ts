/** Answers the bench's questions about this process over IPC: CPU time and memory. */
export function serveStats(): void {
  process.on('message', (msg: { type: string }) => {
    if (msg.type === 'stats') {
      const cpu = process.cpuUsage();
      process.send?.({ type: 'stats', cpuMicros: cpu.user + cpu.system, rss: process.memoryUsage().rss });
    }
  });
}
