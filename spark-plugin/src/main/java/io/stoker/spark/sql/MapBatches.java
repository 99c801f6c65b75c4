package io.stoker.spark.sql;

import io.stoker.spark.actor.ActorPoolSpec;
import io.stoker.spark.config.StokerConf;
import io.stoker.spark.graph.GraphSpec;
import io.stoker.spark.plugin.DriverState;
import io.stoker.spark.shim.ShimLoader;
import io.stoker.spark.shim.SparkShims;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import scala.runtime.AbstractFunction1;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The Stoker operator as a DataFrame transformation: {@code df.transform(Stoker.mapBatches(spec, outputSchema))}.
 * Each partition's rows go to the graph compiled from {@code spec} inside the executor, as Arrow record batches of
 * {@link #batchRows} rows; the graph's Arrow output becomes rows of {@code outputSchema}, appended to the input
 * columns that are kept (all by default; see {@link #drop} and {@link #dropInput()}).
 *
 * <p>With input columns kept, each output batch must have as many rows as its input batch (row i extends input
 * row i). With every input column dropped, a batch may yield any number of rows (filter, explode).
 *
 * <p>Immutable: the {@code with}-style methods return copies. {@link #apply} runs on the driver, where it refuses,
 * before any job runs, a spec that uses an unknown pool or declares a pool differently from the configuration.
 */
public final class MapBatches extends AbstractFunction1<Dataset<Row>, Dataset<Row>> implements java.io.Serializable {
    private static final long serialVersionUID = 1L;

    private final GraphSpec spec;
    private final StructType outputSchema;
    private final Set<String> drop;
    private final boolean dropAll;
    private final int batchRows;

    public MapBatches(GraphSpec spec, StructType outputSchema) {
        this(spec, outputSchema, Set.of(), false, 0);
    }

    private MapBatches(GraphSpec spec, StructType outputSchema, Set<String> drop, boolean dropAll, int batchRows) {
        if (spec == null) {
            throw new IllegalArgumentException("mapBatches needs a GraphSpec");
        }
        if (outputSchema == null || outputSchema.fields().length == 0) {
            throw new IllegalArgumentException("mapBatches over graph '" + spec.name() + "' needs an output schema"
                    + " with at least one column (the graph's output batch schema)");
        }
        this.spec = spec;
        this.outputSchema = outputSchema;
        this.drop = Set.copyOf(drop);
        this.dropAll = dropAll;
        this.batchRows = batchRows;
    }

    /** @return a copy that leaves these input columns out of the result (the graph still sees them) */
    public MapBatches drop(String... columns) {
        Set<String> d = new LinkedHashSet<>(drop);
        d.addAll(Arrays.asList(columns));
        return new MapBatches(spec, outputSchema, d, dropAll, batchRows);
    }

    /** @return a copy whose result has only the graph's output columns */
    public MapBatches dropInput() {
        return new MapBatches(spec, outputSchema, drop, true, batchRows);
    }

    /** @return a copy with this many rows per Arrow batch (default: spark.stoker.batch.rows) */
    public MapBatches batchRows(int rows) {
        if (rows < 1) {
            throw new IllegalArgumentException("batchRows=" + rows + " must be ≥ 1");
        }
        return new MapBatches(spec, outputSchema, drop, dropAll, rows);
    }

    public GraphSpec spec() {
        return spec;
    }

    public StructType outputSchema() {
        return outputSchema;
    }

    @Override
    public Dataset<Row> apply(Dataset<Row> df) {
        SparkSession spark = df.sparkSession();
        DriverState state = DriverState.require(spark.sparkContext(), "mapBatches over graph '" + spec.name() + "'");
        StokerConf conf = state.conf();
        if (!conf.enabled()) {
            throw new IllegalStateException("mapBatches over graph '" + spec.name() + "': Stoker is disabled"
                    + " (spark.stoker.enabled=false)");
        }
        if (state.failure() != null) {
            throw new IllegalStateException("mapBatches over graph '" + spec.name() + "': Stoker failed this"
                    + " application " + state.failure());
        }
        for (String pool : spec.poolsUsed()) {
            ActorPoolSpec configured = conf.pools().get(pool);
            ActorPoolSpec declared = spec.pools().get(pool);
            if (configured == null && declared == null) {
                throw new IllegalArgumentException("graph spec '" + spec.name() + "' uses actor pool '" + pool
                        + "', which is neither configured (spark.stoker.pool." + pool + ".class) nor declared with"
                        + " GraphSpec.Builder.pool(...); configured pools: " + conf.pools().keySet());
            }
            // Executors refuse this too, but only at task time, after starting the graph's other pools.
            if (configured != null && declared != null && !configured.equals(declared)) {
                throw new IllegalArgumentException("graph spec '" + spec.name() + "' declares actor pool '" + pool
                        + "' as " + declared + ", but the configuration (spark.stoker.pool." + pool + ".*) declares"
                        + " it as " + configured + "; rename the pool in code, remove the spark.stoker.pool." + pool
                        + ".* settings, or make the two declarations equal");
            }
        }
        StructType in = df.schema();
        List<String> inputNames = Arrays.asList(in.fieldNames());
        for (String d : drop) {
            if (!inputNames.contains(d)) {
                throw new IllegalArgumentException("mapBatches over graph '" + spec.name() + "': cannot drop column '"
                        + d + "'; the input columns are " + inputNames);
            }
        }
        List<Integer> kept = new ArrayList<>();
        List<StructField> fields = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        if (!dropAll) {
            for (int i = 0; i < in.fields().length; i++) {
                if (!drop.contains(in.fields()[i].name())) {
                    kept.add(i);
                    fields.add(in.fields()[i]);
                    names.add(in.fields()[i].name().toLowerCase(Locale.ROOT));
                }
            }
        }
        for (StructField f : outputSchema.fields()) {
            if (!names.add(f.name().toLowerCase(Locale.ROOT))) {
                throw new IllegalArgumentException("mapBatches over graph '" + spec.name() + "': output column '"
                        + f.name() + "' clashes with a kept input column or another output column; drop the input"
                        + " column (.drop(\"" + f.name() + "\")) or rename the output");
            }
            fields.add(f);
        }
        StructType result = new StructType(fields.toArray(new StructField[0]));
        SparkShims shims = ShimLoader.get();
        String tz = spark.conf().get("spark.sql.session.timeZone");
        Broadcast<GraphSpec> shipped = JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(spec);
        BatchPartitionFunction fn = new BatchPartitionFunction(state.session(), shipped, in, outputSchema,
                kept.stream().mapToInt(Integer::intValue).toArray(), tz, batchRows);
        RDD<InternalRow> rows = shims.internalRows(df).toJavaRDD().mapPartitions(fn).rdd();
        return shims.createDataFrame(spark, rows, result);
    }

    @Override
    public String toString() {
        return "MapBatches[" + spec.name() + " -> " + outputSchema.simpleString() + "]";
    }
}
