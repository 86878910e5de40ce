// Event listeners are user code. One that throws must unwind neither into the code that
// emitted (the addon's callback, start(), a discovery loop): its error is rethrown on its
// own tick, where it is an ordinary uncaught exception.

/** Runs `emit` (an emitter's emit call); a listener's throw is rethrown on the next tick. */
export function deliverToListeners(emit: () => void): void {
  try {
    emit();
  } catch (error) {
    process.nextTick(() => {
      throw error;
    });
  }
}
