/**
 * Thrown by a message handler when trying again cannot help (the order does not exist, the data is
 * contradictory): the message is parked in the dead-letter queue at once instead of being retried.
 */
export class PermanentFailure extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'PermanentFailure';
  }
}
