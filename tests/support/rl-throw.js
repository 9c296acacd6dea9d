// A wrapped binding standing in for a Rate Limiting binding that fails:
// every `limit()` throws, as a binding the platform cannot reach would.
export default function () {
  return {
    async limit() {
      throw new Error('rate limiter unavailable (test)');
    },
  };
}
