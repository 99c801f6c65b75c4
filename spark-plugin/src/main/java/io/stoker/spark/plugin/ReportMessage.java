package io.stoker.spark.plugin;

import java.io.Serializable;

/**
 * An executor's report on its way to the driver plugin.
 *
 * @param report     the snapshot
 * @param wantsReply true when sent with {@code ask} (the driver answers), false with {@code send}
 */
record ReportMessage(ExecutorReport report, boolean wantsReply) implements Serializable {
}
