using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace MovingImages.Runtime;

/// <summary>
/// Finds the native libraries of TorchSharp, OpenCvSharp and SkiaSharp where the build put them
/// (<c>runtimes/&lt;rid&gt;/native/</c> beside the assemblies) when the host does not know about them.
/// </summary>
/// <remarks>
/// <para>An application (the CLI, the tests) has a <c>.deps.json</c> that tells .NET where each native library is, and
/// nothing here is needed. A notebook kernel that <c>#r</c>-references our build output has no such file: .NET then looks
/// for <c>libLibTorchSharp.so</c> beside <c>TorchSharp.dll</c> and in the kernel's own folders, fails, and TorchSharp falls
/// back to copying libtorch (≈ 0.5 GB) out of the NuGet cache. This class runs before any of our code (a module
/// initializer) and</para>
/// <list type="bullet">
/// <item>loads TorchSharp's native wrapper by its full path from the build output (the copy the build patched for older
/// libstdc++; its dependencies are found beside it through its <c>$ORIGIN</c> run path). Later loads by name — TorchSharp's
/// own <c>NativeLibrary.TryLoad("LibTorchSharp")</c> and its <c>DllImport</c>s — then find the loaded library, so its
/// copy-from-the-cache fallback never runs;</item>
/// <item>answers <see cref="AssemblyLoadContext.ResolvingUnmanagedDll"/> in every load context (a kernel may load each
/// <c>#r</c> into its own) with the file from the build output: OpenCvSharp's, SkiaSharp's, HarfBuzzSharp's, TorchSharp's.</item>
/// </list>
/// <para>A native library that is present but cannot be loaded is reported with the loader's message (see
/// <see cref="TorchSharpLoadError"/>), never silently replaced by another copy.</para>
/// </remarks>
public static class NativeLibraries
{
    static readonly Lock Gate = new();
    static readonly HashSet<AssemblyLoadContext> Hooked = [];
    static bool _torchPreloaded;

    /// <summary>The error from loading TorchSharp's native wrapper from the build output, or null when it loaded or was not needed.</summary>
    public static string? TorchSharpLoadError { get; private set; }

    /// <summary>The folders searched for native libraries, most specific first.</summary>
    public static IReadOnlyList<string> SearchFolders { get; } = FindSearchFolders();

#pragma warning disable CA2255 // a module initializer is the point: it must run before TorchSharp or OpenCV is first touched
    [ModuleInitializer]
    internal static void Initialize() => Ensure();
#pragma warning restore CA2255

    /// <summary>Installs the resolvers and preloads TorchSharp's native wrapper (once; later calls do nothing).</summary>
    public static void Ensure()
    {
        lock (Gate)
        {
            if (_torchPreloaded) return;
            // Every load context that holds an assembly, now or later: a kernel may give each #r its own.
            AppDomain.CurrentDomain.AssemblyLoad += (_, e) => Hook(e.LoadedAssembly);
            Hook(typeof(NativeLibraries).Assembly);
            foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies()) Hook(assembly);
            _torchPreloaded = true;
            PreloadTorchSharp();
        }
    }

    /// <summary>Hooks the load context of <paramref name="assembly"/> too (a host may load each reference in its own).</summary>
    public static void Hook(Assembly assembly)
    {
        if (assembly.IsDynamic) return;
        var context = AssemblyLoadContext.GetLoadContext(assembly);
        if (context == null) return;
        lock (Gate)
            if (Hooked.Add(context))
                context.ResolvingUnmanagedDll += Resolve;
    }

    static void PreloadTorchSharp()
    {
        string file = LibraryFileName("LibTorchSharp");
        foreach (var folder in SearchFolders)
        {
            string path = Path.Combine(folder, file);
            if (!File.Exists(path)) continue;
            // Load through the OS loader and say why it failed (NativeLibrary hides dlerror's text).
            try
            {
                NativeLibrary.Load(path);
                TorchSharpLoadError = null;
            }
            catch (DllNotFoundException e)
            {
                TorchSharpLoadError = $"{path}: {e.Message}";
            }
            catch (BadImageFormatException e)
            {
                TorchSharpLoadError = $"{path}: {e.Message}";
            }
            return;
        }
    }

    static IntPtr Resolve(Assembly assembly, string name)
    {
        foreach (var candidate in CandidateNames(name))
            foreach (var folder in SearchFolders)
            {
                string path = Path.Combine(folder, candidate);
                if (File.Exists(path) && NativeLibrary.TryLoad(path, out var handle)) return handle;
            }
        return IntPtr.Zero;
    }

    static IEnumerable<string> CandidateNames(string name)
    {
        yield return name;
        string file = LibraryFileName(name);
        if (file != name) yield return file;
    }

    /// <summary>The file name the OS gives a library called <paramref name="name"/> in a <c>DllImport</c>.</summary>
    public static string LibraryFileName(string name)
    {
        if (OperatingSystem.IsWindows()) return name.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? name : name + ".dll";
        string suffix = OperatingSystem.IsMacOS() ? ".dylib" : ".so";
        if (name.Contains(suffix, StringComparison.Ordinal)) return name;
        return (name.StartsWith("lib", StringComparison.Ordinal) ? name : "lib" + name) + suffix;
    }

    static string[] FindSearchFolders()
    {
        var folders = new List<string>();
        string? here = Path.GetDirectoryName(typeof(NativeLibraries).Assembly.Location);
        if (string.IsNullOrEmpty(here)) return [];
        string rid = RuntimeRid();
        folders.Add(Path.Combine(here, "runtimes", rid, "native"));
        folders.Add(here);
        return folders.Where(Directory.Exists).ToArray();
    }

    static string RuntimeRid()
    {
        string os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        string arch = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.Arm64 => "arm64",
            Architecture.X86 => "x86",
            _ => "x64",
        };
        return $"{os}-{arch}";
    }
}
