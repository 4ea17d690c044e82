using System.Runtime.InteropServices;

namespace MovingImages.Runtime;

/// <summary>
/// The C heap that OpenCV, FFmpeg and libtorch allocate from. glibc keeps freed blocks in per-thread arenas and returns
/// them to the system lazily, so a long video's resident memory drifts upward in plateaus even without leaks;
/// <see cref="Trim"/> hands the free blocks back (glibc's <c>malloc_trim</c>). A no-op elsewhere.
/// </summary>
public static partial class NativeHeap
{
    static bool _unavailable = !OperatingSystem.IsLinux();

    /// <summary>Returns free heap memory to the operating system. Returns false where that is not supported.</summary>
    public static bool Trim()
    {
        if (_unavailable) return false;
        try
        {
            return malloc_trim(0) != 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _unavailable = true; // musl and others have no malloc_trim
            return false;
        }
    }

    static int _keepingFreedBlocks;

    /// <summary>
    /// Makes glibc keep freed blocks for reuse instead of handing them back to the kernel: blocks up to 32 MB come from
    /// the heap rather than their own mappings, and up to 1 GB of free space at the heap's end stays mapped. Training
    /// allocates and frees the same large activations and gradients at every step; with glibc's defaults each of them
    /// is mapped again and zeroed by the kernel page by page (page faults were ~11% of a training step's time here).
    /// Process-wide and idempotent; memory freed since stays counted in the process's resident size until
    /// <see cref="Trim"/>. Returns false where the C library has no <c>mallopt</c>.
    /// </summary>
    public static bool KeepFreedBlocks()
    {
        if (_unavailable) return false;
        if (Interlocked.Exchange(ref _keepingFreedBlocks, 1) == 1) return true;
        try
        {
            const int TrimThreshold = -1, TopPad = -2, MmapThreshold = -3;         // glibc's malloc.h
            return mallopt(MmapThreshold, 32 << 20) == 1 && mallopt(TrimThreshold, 1 << 30) == 1 && mallopt(TopPad, 64 << 20) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _unavailable = true;
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int mallopt(int parameter, int value);

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int malloc_trim(nuint pad);
}
