// An example consumer of edge-session's session events: receives the
// EVENTS queue's batches and appends each batch to R2 as one NDJSON object
// (events/{time}-{uuid}.ndjson), one event per line, then acknowledges it.
// Events arrive at least once: deduplicate by `id` downstream. Run with the
// Worker by `npm run dev` (scripts/dev.sh binds the queue to both).
export default {
  async queue(batch, env) {
    const lines = batch.messages.map((m) => `${JSON.stringify(m.body)}\n`).join('');
    const key = `events/${new Date().toISOString()}-${crypto.randomUUID()}.ndjson`;
    await env.EVENTS_LOG.put(key, lines, { httpMetadata: { contentType: 'application/x-ndjson' } });
    for (const { body } of batch.messages) {
      console.log(`[events] ${body.type}${body.reason ? ` (${body.reason})` : ''} by ${body.actor}`);
    }
    batch.ackAll();
  },
};
