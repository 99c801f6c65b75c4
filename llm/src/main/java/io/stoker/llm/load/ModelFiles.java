package io.stoker.llm.load;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Turns a model location into a local path: a plain path or {@code file:} URI is used in place; any other URI
 * ({@code hdfs://}, {@code s3a://}, {@code abfs://}...) is copied once through Hadoop's FileSystem into a local cache
 * directory ({@code stoker.model.cache}, default {@code java.io.tmpdir/stoker-models}), because weights are
 * memory-mapped and mapping needs a local file.
 */
public final class ModelFiles {
    private ModelFiles() {
    }

    public static Path resolve(String location) {
        if (location == null || location.isBlank()) {
            throw new IllegalArgumentException("model location is empty; pass a directory, a .gguf file or a URI");
        }
        int colon = location.indexOf("://");
        if (colon > 0 && !location.startsWith("file:")) {
            URI uri = URI.create(location);
            Path cache = Paths.get(System.getProperty("stoker.model.cache",
                    Paths.get(System.getProperty("java.io.tmpdir"), "stoker-models").toString()));
            try {
                return HadoopFetch.fetch(uri, cache);
            } catch (NoClassDefFoundError e) {
                throw new IllegalArgumentException("model " + location + " needs Hadoop's FileSystem (hadoop-client-api"
                        + " and hadoop-client-runtime on the classpath, as in Spark), which is not present", e);
            }
        }
        Path p = location.startsWith("file:") ? Paths.get(URI.create(location)) : Paths.get(location);
        if (!Files.exists(p)) {
            throw new IllegalArgumentException("model " + location + " does not exist; pass a Hugging Face directory"
                    + " (config.json + *.safetensors) or a .gguf file");
        }
        return p;
    }
}
