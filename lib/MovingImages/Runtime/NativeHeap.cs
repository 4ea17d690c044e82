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

    static readonly Lock KeepGate = new();
    static bool? _kept;

    /// <summary>The environment variable that turns <see cref="KeepFreedBlocks"/> off when it is "0".</summary>
    public const string KeepFreedMemoryVariable = "MOVINGIMAGES_KEEP_FREED_MEMORY";

    /// <summary>
    /// Makes glibc keep freed blocks for reuse instead of handing them back to the kernel: blocks up to 32 MB come from
    /// the heap rather than mappings of their own, and up to 512 MB of free space at the heap's end stays mapped.
    /// Training and detection allocate and free the same large tensors at every step and frame; with glibc's defaults
    /// many of them are mapped again and zeroed by the kernel page by page (page faults were ~11% of a training step
    /// here, and YOLOv3 frames took ~11% longer). Called by <see cref="TorchRuntime.EnsureLoaded"/> (which the trainer,
    /// YOLO and the face networks call); process-wide and idempotent. Memory freed since stays in the process's resident size until <see cref="Trim"/>.
    /// Set <c>MOVINGIMAGES_KEEP_FREED_MEMORY=0</c> to keep glibc's defaults. Returns whether the setting is on.
    /// </summary>
    public static bool KeepFreedBlocks()
    {
        lock (KeepGate)
        {
            if (_kept is bool done) return done;
            if (_unavailable || Environment.GetEnvironmentVariable(KeepFreedMemoryVariable) == "0") return false;
            try
            {
                const int TrimThreshold = -1, TopPad = -2, MmapThreshold = -3;     // glibc's malloc.h
                _kept = mallopt(MmapThreshold, 32 << 20) == 1 && mallopt(TrimThreshold, 512 << 20) == 1 && mallopt(TopPad, 64 << 20) == 1;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                _kept = false;                                                  // musl and others
            }
            return _kept.Value;
        }
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int mallopt(int parameter, int value);

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int malloc_trim(nuint pad);
}
