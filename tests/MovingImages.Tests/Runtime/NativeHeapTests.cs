using System.Runtime.InteropServices;
using MovingImages.Runtime;

namespace MovingImages.Tests.Runtime;

public class NativeHeapTests
{
    [Fact]
    public void Kept_freed_blocks_are_reused_without_the_kernel_mapping_and_zeroing_them_again()
    {
        Assert.True(NativeHeap.KeepFreedBlocks());
        Assert.True(NativeHeap.KeepFreedBlocks());                           // idempotent
        // a training step's pattern: large blocks allocated, written and freed, again and again (here four of 20 MB). With
        // glibc's defaults the freed space beyond its trim threshold goes back to the kernel, and the next round's blocks
        // are mapped and zeroed again page by page (a minor fault per 4 KB: ~20,000); kept, a round reuses the last one's.
        const int bytes = 20 << 20, blocks = 4;
        long Round()
        {
            long before = MinorFaults();
            var p = Enumerable.Range(0, blocks).Select(_ => Marshal.AllocHGlobal(bytes)).ToArray();   // malloc
            try { foreach (var b in p) memset(b, 1, bytes); }
            finally { foreach (var b in p) Marshal.FreeHGlobal(b); }
            return MinorFaults() - before;
        }
        Round();
        long faults = Enumerable.Range(0, 3).Min(_ => Round());
        Assert.True(faults < blocks * bytes / 4096 / 10, $"{faults} page faults for {blocks} blocks of {bytes >> 20} MB freed and allocated again: the kernel mapped them again");
    }

    // this thread's minor page faults (getrusage(RUSAGE_THREAD), ru_minflt)
    static long MinorFaults()
    {
        var usage = new long[18];
        Assert.Equal(0, getrusage(1, usage));
        return usage[4 + 4];                                                // two timevals (4 longs), then maxrss, ixrss, idrss, isrss, minflt
    }

    [DllImport("libc", EntryPoint = "memset")]
    static extern IntPtr memset(IntPtr destination, int value, nuint count);

    [DllImport("libc", EntryPoint = "getrusage")]
    static extern int getrusage(int who, [Out] long[] usage);
}
