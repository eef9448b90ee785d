export interface ServerSentEvent {
  id: string;
  event: string;
  data: string;
}

export interface EventStreamReader {
  status: number;
  contentType: string | null;
  /** Every event received so far, in order. */
  readonly events: ServerSentEvent[];
  /** Hangs up, as a closed page does. */
  close(): void;
}

/** Opens GET `url` as a browser's EventSource would and collects its events until closed. */
export async function readEventStream(
  url: string,
  headers: Record<string, string>,
): Promise<EventStreamReader> {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  const events: ServerSentEvent[] = [];
  const reader = {
    status: response.status,
    contentType: response.headers.get('content-type'),
    events,
    close: () => controller.abort(),
  };
  if (response.status !== 200) {
    await response.body?.cancel();
    return reader;
  }
  void (async () => {
    const stream = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = '';
    for (;;) {
      const { value, done } = await stream.read();
      if (done) return;
      buffered += value;
      let end: number;
      while ((end = buffered.indexOf('\n\n')) !== -1) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(block)?.[1];
        const id = field('id');
        if (id) events.push({ id, event: field('event') ?? 'message', data: field('data') ?? '' });
      }
    }
  })().catch(() => undefined);
  return reader;
}
