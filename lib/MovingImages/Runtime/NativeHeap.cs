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

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int malloc_trim(nuint pad);
}
