package io.stoker.serve;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The server's API key, kept only as its SHA-256 digest. {@link #matches} compares digests in constant time
 * ({@link MessageDigest#isEqual}), so neither the key's content nor its length leaks through timing; the key itself
 * never reaches a log, an error or {@link #toString()}.
 */
public final class ApiKey {
    private static final String BEARER = "bearer ";

    private final byte[] digest;

    private ApiKey(byte[] digest) {
        this.digest = digest;
    }

    /** @throws IllegalArgumentException when the key is empty */
    public static ApiKey of(String key) {
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("the API key is empty");
        }
        return new ApiKey(sha256(key));
    }

    /**
     * Reads the key from an environment variable.
     *
     * @throws IllegalArgumentException naming the variable (never a value) when it is unset or empty
     */
    public static ApiKey fromEnv(String variable) {
        String v = System.getenv(variable);
        if (v == null || v.isEmpty()) {
            throw new IllegalArgumentException("--api-key-env " + variable + ": the environment variable " + variable
                    + " is unset or empty; export the key in it before starting");
        }
        return of(v);
    }

    /** @return true when the {@code Authorization} header value is {@code Bearer <this key>} */
    public boolean matches(String authorizationHeader) {
        if (authorizationHeader == null || authorizationHeader.length() <= BEARER.length()
                || !authorizationHeader.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
            return false;
        }
        return MessageDigest.isEqual(digest, sha256(authorizationHeader.substring(BEARER.length()).trim()));
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    @Override
    public String toString() {
        return "ApiKey[***]";
    }
}
