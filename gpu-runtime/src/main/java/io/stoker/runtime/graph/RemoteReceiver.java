package io.stoker.runtime.graph;

import io.stoker.runtime.channel.ChannelReader;

/**
 * The receiving end of a cross-process edge, read by a {@code receiveFrom} task as its second source (after the graph
 * input that starts each execution): each value polled is a new {@code DeviceArray} on this actor's device that the
 * task owns. Actor thread only.
 */
interface RemoteReceiver extends RemoteEnd, ChannelReader<Object> {
}
