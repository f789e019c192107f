/**
 * The extensions a broker adds to an event it sends to the dead-letter
 * sink. Names and the 1024-byte limit are those of Knative Eventing
 * (`knative.dev/eventing/pkg/channel/attributes`, v0.35), so one
 * dead-letter handler serves both the Knative Broker and the embedded one.
 */
import { CloudEvent, type CloudEventV1 } from 'cloudevents';

/** The subscriber URL the event could not be delivered to. */
export const KNATIVE_ERROR_DEST = 'knativeerrordest';
/** The HTTP status of the last delivery attempt. */
export const KNATIVE_ERROR_CODE = 'knativeerrorcode';
/** The start of the last response body, base64-encoded. */
export const KNATIVE_ERROR_DATA = 'knativeerrordata';
/** Bytes of the response body Knative keeps in `knativeerrordata`. */
export const KNATIVE_ERROR_DATA_MAX_BYTES = 1024;

/** The cause of a delivery to one subscriber that failed for good. */
export interface DeliveryFailure {
  /** The subscriber URL. */
  destination: string;
  /** Status of the last attempt, absent when no response arrived. */
  status?: number;
  /**
   * The last response body or, when no response arrived, the network error
   * message. Only the first {@link KNATIVE_ERROR_DATA_MAX_BYTES} bytes are kept.
   */
  data?: Buffer;
}

/** Returns a copy of `event` carrying the Knative error extensions of `failure`. */
export function withDeliveryFailure(
  event: CloudEventV1<unknown>,
  failure: DeliveryFailure,
): CloudEvent<unknown> {
  const extensions: Record<string, string | number> = {
    [KNATIVE_ERROR_DEST]: failure.destination,
  };
  if (failure.status !== undefined) extensions[KNATIVE_ERROR_CODE] = failure.status;
  if (failure.data !== undefined && failure.data.length > 0) {
    const truncated = failure.data.subarray(0, KNATIVE_ERROR_DATA_MAX_BYTES);
    extensions[KNATIVE_ERROR_DATA] = truncated.toString('base64');
  }
  // The event was validated when it was received, so the copy skips validation.
  return new CloudEvent<unknown>({ ...event, ...extensions }, false);
}

/**
 * Reads the Knative error extensions of a dead-lettered event.
 *
 * @returns the failure, with `data` decoded from base64, or undefined when
 *   the event carries no `knativeerrordest`.
 */
export function readDeliveryFailure(event: CloudEventV1<unknown>): DeliveryFailure | undefined {
  const destination = event[KNATIVE_ERROR_DEST];
  if (typeof destination !== 'string') return undefined;

  const failure: DeliveryFailure = { destination };
  // Binary content mode turns every extension into header text, so the code may be a string.
  const status = Number(event[KNATIVE_ERROR_CODE]);
  if (event[KNATIVE_ERROR_CODE] !== undefined && Number.isInteger(status)) failure.status = status;
  const data = event[KNATIVE_ERROR_DATA];
  if (typeof data === 'string') failure.data = Buffer.from(data, 'base64');
  return failure;
}
