using TorchSharp;
using static TorchSharp.torch;

namespace MovingImages.Runtime;

/// <summary>
/// One place that loads libtorch, picks the device and sets thread counts, and turns a native
/// load failure into a message a reader can act on.
/// </summary>
public static class TorchRuntime
{
    static readonly Lock Gate = new();
    static bool _ready;

    /// <summary>Loads TorchSharp's native libraries, or throws <see cref="InvalidOperationException"/> saying why and what to do.</summary>
    public static void EnsureLoaded()
    {
        if (_ready) return;
        lock (Gate)
        {
            if (_ready) return;
            NativeLibraries.Ensure();
            // The build output's native wrapper is there but does not load: say why, and do not let TorchSharp go on
            // to its fallback (copying libtorch out of the NuGet cache, which would not load either).
            if (NativeLibraries.TorchSharpLoadError is { } error)
                throw new InvalidOperationException($"TorchSharp's native library could not be loaded: {error}. "
                    + (error.Contains("GLIBCXX", StringComparison.Ordinal)
                        ? "Your libstdc++ is older than the one TorchSharp was built against; `dotnet build` patches the copy in the build output (see environment.md). Rebuild, then restart the kernel or program."
                        : "See environment.md for the native libraries TorchSharp needs on this platform."));
            try
            {
                _ = torch.get_num_threads();
                // NNPACK off (torch.backends.nnpack.set_flags(False) in PyTorch): on CPUs it does not support — AVX-512
                // machines like ours — libtorch tries to start it for every eligible convolution and logs "Could not
                // initialize NNPACK! Reason: Unsupported hardware." each time (~36 lines per training step, thousands per
                // run), drowning real warnings. oneDNN and libtorch's own kernels compute those convolutions.
                SetUserEnabledNnpack(GlobalContext(), false);
                NativeHeap.KeepFreedBlocks();
                _ready = true;
            }
            catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or NotSupportedException)
            {
                var inner = e;
                while (inner.InnerException != null) inner = inner.InnerException;
                string hint = inner.Message.Contains("GLIBCXX", StringComparison.Ordinal)
                    ? " Your libstdc++ is older than the one TorchSharp was built against. Build with `dotnet build` "
                      + "(the build patches the copy in the output folder; see environment.md) and run from the build output."
                    : " See environment.md for the native libraries TorchSharp needs on this platform.";
                throw new InvalidOperationException($"TorchSharp's native library could not be loaded: {inner.Message}.{hint}", e);
            }
        }
    }

    /// <summary>The best device available: CUDA when libtorch has it and a GPU is present, else CPU.</summary>
    public static Device DefaultDevice
    {
        get
        {
            EnsureLoaded();
            return torch.cuda.is_available() ? torch.CUDA : torch.CPU;
        }
    }

    /// <summary>Parses "cpu", "cuda", "cuda:1" or "auto" (null/empty = auto).</summary>
    public static Device ParseDevice(string? name)
    {
        EnsureLoaded();
        if (string.IsNullOrWhiteSpace(name) || name.Equals("auto", StringComparison.OrdinalIgnoreCase)) return DefaultDevice;
        if (name.StartsWith("cuda", StringComparison.OrdinalIgnoreCase) && !torch.cuda.is_available())
            throw new ArgumentException($"Device '{name}' was asked for, but this build of libtorch has no CUDA or no GPU is present. Use 'cpu' or 'auto'.");
        try { return torch.device(name.ToLowerInvariant()); }
        catch (Exception e) { throw new ArgumentException($"Unknown device '{name}': expected cpu, cuda, cuda:N or auto.", e); }
    }

    /// <summary>Sets the number of intra-op threads libtorch uses (0 or less leaves the default).</summary>
    public static void SetThreads(int threads)
    {
        EnsureLoaded();
        if (threads > 0) torch.set_num_threads(threads);
    }

    /// <summary>The number of intra-op threads libtorch uses now.</summary>
    public static int Threads
    {
        get { EnsureLoaded(); return torch.get_num_threads(); }
    }

    /// <summary>
    /// Whether libtorch may use oneDNN (MKL-DNN) kernels (<c>torch.backends.mkldnn.enabled</c> in PyTorch; TorchSharp has
    /// no binding for it, so this calls libtorch's <c>at::Context::setUserEnabledMkldnn</c>).
    /// </summary>
    public static bool OneDnnEnabled
    {
        get { EnsureLoaded(); return UserEnabledMkldnn(GlobalContext()); }
        set { EnsureLoaded(); SetUserEnabledMkldnn(GlobalContext(), value); }
    }

    static int _withoutOneDnn;
    static bool _oneDnnBefore;

    /// <summary>
    /// Turns oneDNN off until the returned object is disposed (nested and concurrent uses are counted; the setting from
    /// before comes back when the last one ends). Other threads' work meanwhile takes libtorch's other kernels: slower, same results.
    /// </summary>
    public static IDisposable WithoutOneDnn()
    {
        lock (Gate)
        {
            if (_withoutOneDnn++ == 0)
            {
                _oneDnnBefore = OneDnnEnabled;
                OneDnnEnabled = false;
            }
        }
        return new OneDnnRestore();
    }

    sealed class OneDnnRestore : IDisposable
    {
        int _done;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) != 0) return;
            lock (Gate)
                if (--_withoutOneDnn == 0) OneDnnEnabled = _oneDnnBefore;
        }
    }

    [System.Runtime.InteropServices.DllImport("torch_cpu", EntryPoint = "_ZN2at13globalContextEv")]
    static extern IntPtr GlobalContext();

    [System.Runtime.InteropServices.DllImport("torch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledMkldnnEb")]
    static extern void SetUserEnabledMkldnn(IntPtr context, [System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.U1)] bool enabled);

    [System.Runtime.InteropServices.DllImport("torch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledNNPACKEb")]
    static extern void SetUserEnabledNnpack(IntPtr context, [System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.U1)] bool enabled);

    [System.Runtime.InteropServices.DllImport("torch_cpu", EntryPoint = "_ZNK2at7Context17userEnabledMkldnnEv")]
    [return: System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.U1)]
    static extern bool UserEnabledMkldnn(IntPtr context);
}
