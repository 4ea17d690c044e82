using System.Runtime.InteropServices;
using TorchSharp;

namespace MovingImages.Runtime;

/// <summary>
/// libtorch's intra-op thread count, per thread. libtorch (and oneDNN inside it) runs each parallel region on an OpenMP
/// team, and OpenMP keeps the team size per thread (its <c>nthreads-var</c>): set through <c>omp_set_num_threads</c> on
/// one thread, it changes nothing for the others — unlike <c>torch.set_num_threads</c>, which also changes what every
/// thread started later begins with. The convolution self-check runs a class with the thread count it was asked for:
/// libtorch's results depend on it (on the AVX-512-BF16 EPYC, 16 classes are wrong with 1 thread and right with 2).
/// </summary>
public static unsafe class IntraOpThreads
{
    static readonly Lazy<nint> SetEntry = new(Find);

    /// <summary>Whether the thread count can be set per thread (libtorch's OpenMP runtime was found: Linux CPU builds).</summary>
    public static bool Available => SetEntry.Value != 0;

    /// <summary>The calling thread's libtorch thread count: the team size of the regions it starts.</summary>
    public static int Current
    {
        get
        {
            TorchRuntime.EnsureLoaded();
            return torch.get_num_threads();          // libtorch sets each thread's count at its first use; this is that use
        }
    }

    /// <summary>
    /// Runs libtorch on <paramref name="threads"/> threads on the calling thread until the result is disposed (on the
    /// same thread); other threads keep theirs. Throws <see cref="NotSupportedException"/> where the count cannot be
    /// set per thread and differs from the current one.
    /// </summary>
    public static IDisposable Use(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        int before = Current;
        if (before == threads) return Restore.Nothing;
        if (!Available) throw new NotSupportedException($"libtorch's thread count cannot be set per thread here (its OpenMP runtime was not found); this thread runs {before}, {threads} were asked for");
        ((delegate* unmanaged<int, void>)SetEntry.Value)(threads);
        return new Restore(before, Environment.CurrentManagedThreadId);
    }

    sealed class Restore(int threads, int thread) : IDisposable
    {
        public static readonly Restore Nothing = new(0, 0);
        bool _done;

        public void Dispose()
        {
            if (_done || threads == 0) return;
            if (Environment.CurrentManagedThreadId != thread)
                throw new InvalidOperationException("IntraOpThreads.Use must be undone on the thread that set it");
            _done = true;
            ((delegate* unmanaged<int, void>)SetEntry.Value)(threads);
        }
    }

    /// <summary>libtorch's own OpenMP runtime (libgomp beside libtorch_cpu): looked up through libtorch_cpu, which links it.</summary>
    static nint Find()
    {
        TorchRuntime.EnsureLoaded();
        if (!OperatingSystem.IsLinux()) return 0;     // elsewhere GetProcAddress does not search a library's dependencies
        string file = NativeLibraries.LibraryFileName("libtorch_cpu");
        foreach (var folder in NativeLibraries.SearchFolders)
        {
            string path = Path.Combine(folder, file);
            if (!File.Exists(path) || !NativeLibrary.TryLoad(path, out var handle)) continue;
            // dlsym on a library's handle searches the libraries it depends on too
            if (NativeLibrary.TryGetExport(handle, "omp_set_num_threads", out var set)) return set;
        }
        return 0;
    }
}
