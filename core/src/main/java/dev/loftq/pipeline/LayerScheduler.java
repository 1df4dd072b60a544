package dev.loftq.pipeline;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;

/**
 * Runs independent per-matrix jobs on one ForkJoinPool of {@code threads} workers, so the jobs and the
 * kernels inside them (which split work on the current pool) share the same cores without
 * oversubscription. A job starts only when its estimated working memory fits in {@code maxMemory}
 * next to the jobs in flight (a job larger than the whole budget runs alone).
 */
public final class LayerScheduler implements AutoCloseable {
    /** One unit of work with its working-memory estimate in bytes. */
    public interface Job {
        long memoryBytes();

        void run() throws Exception;
    }

    private final ForkJoinPool pool;
    private final long maxMemory;
    private long inFlight;

    public LayerScheduler(int threads, long maxMemory) {
        if (threads < 1) throw new IllegalArgumentException("threads must be ≥ 1");
        if (maxMemory < 1) throw new IllegalArgumentException("max memory must be > 0");
        this.pool = new ForkJoinPool(threads);
        this.maxMemory = maxMemory;
    }

    /** Runs all jobs; the first failure stops new jobs, waits for those running, and is rethrown. */
    public void runAll(List<? extends Job> jobs) throws Exception {
        List<Future<?>> futures = new ArrayList<>();
        Exception failure = null;
        for (Job job : jobs) {
            long need = Math.min(job.memoryBytes(), maxMemory);
            acquire(need);
            if ((failure = firstFailure(futures)) != null) {
                release(need);
                break;
            }
            futures.add(pool.submit(() -> {
                try {
                    job.run();
                    return null;
                } finally {
                    release(need);
                }
            }));
        }
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (failure == null) failure = unwrap(e);
            }
        }
        if (failure != null) throw failure;
    }

    private static Exception firstFailure(List<Future<?>> futures) {
        for (Future<?> f : futures) {
            if (f.isDone()) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    return unwrap(e);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return e;
                }
            }
        }
        return null;
    }

    /**
     * The job's own exception: ForkJoinPool may hand back a copy of it (same class, the original as cause)
     * to carry the caller's stack, which would prefix the user's message with the class name.
     */
    private static Exception unwrap(ExecutionException e) {
        Throwable t = e.getCause();
        while (t.getCause() != null && t.getCause().getClass() == t.getClass()) t = t.getCause();
        return t instanceof Exception ex ? ex : new RuntimeException(t);
    }

    private synchronized void acquire(long bytes) throws InterruptedException {
        while (inFlight > 0 && inFlight + bytes > maxMemory) wait(1000);
        inFlight += bytes;
    }

    private synchronized void release(long bytes) {
        inFlight -= bytes;
        notifyAll();
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
