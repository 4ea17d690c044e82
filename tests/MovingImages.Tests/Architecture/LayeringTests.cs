using MovingImages.Interactive;
using MovingImages.Notebooks;

namespace MovingImages.Tests.Architecture;

/// <summary>
/// The library's folders (namespaces) and what each may use: layers point down only — geometry and drawing at the
/// bottom, then imaging and media, then the capabilities, then the shells (CLI, notebook display, runner) in their own
/// assemblies. Read from the compiled IL, so a dependency cannot hide in a method body. docs/ARCHITECTURE.md draws it.
/// </summary>
public class LayeringTests
{
    /// <summary>Each folder of lib/MovingImages and the folders it may use (besides itself).</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Allowed = new Dictionary<string, string[]>
    {
        // foundations: no project folder below them
        ["Runtime"] = [],
        ["IO"] = [],
        ["Geometry"] = [],
        ["Drawing"] = ["Geometry"],
        ["Nn"] = ["Runtime"],
        // imaging and media
        ["Imaging"] = ["Geometry", "Runtime", "IO"],
        ["Media"] = ["IO"],
        ["Fetch"] = ["IO"],
        // capabilities
        ["Darknet"] = ["Nn", "Runtime", "IO"],
        ["ObjectDetection"] = ["Darknet", "Geometry", "Drawing", "Imaging", "Runtime", "IO"],
        ["FaceAnalysis"] = ["Nn", "Geometry", "Drawing", "Imaging", "Runtime", "IO"],
        ["Tracking"] = ["Geometry"],
        ["Video"] = ["ObjectDetection", "FaceAnalysis", "Tracking", "Geometry", "Drawing", "Imaging", "Media", "Runtime", "IO"],
        ["FaceSwap"] = ["Video", "FaceAnalysis", "Nn", "Geometry", "Drawing", "Imaging", "Media", "Runtime", "IO"],
        // long runs of everything, for the soak command
        ["Diagnostics"] = ["FaceSwap", "Video", "ObjectDetection", "FaceAnalysis", "Tracking", "Darknet", "Nn", "Geometry", "Drawing", "Imaging", "Media", "Runtime", "IO"],
    };

    static readonly string Core = typeof(MovingImages.Runtime.TorchRuntime).Assembly.Location;

    /// <summary>Uses that <paramref name="allowed"/> does not permit, as "from → to (example)".</summary>
    static List<string> Violations(NamespaceGraph graph, IReadOnlyDictionary<string, string[]> allowed)
    {
        var found = new List<string>();
        foreach (var (from, uses) in graph.Uses)
        {
            string f = Folder(from);
            foreach (var (to, example) in uses)
            {
                string t = Folder(to);
                if (f == t) continue;
                if (!allowed.TryGetValue(f, out var ok)) found.Add($"{from} is not a known folder (add it to {nameof(Allowed)})");
                else if (!ok.Contains(t)) found.Add($"{f} → {t}: {example}");
            }
        }
        return found.Distinct().ToList();
    }

    static string Folder(string ns) => ns.Split('.') is { Length: > 1 } parts ? parts[1] : ns;

    [Fact]
    public void Every_folder_uses_only_the_folders_below_it()
    {
        var violations = Violations(NamespaceGraph.Read(Core, "MovingImages."), Allowed);
        Assert.True(violations.Count == 0, "layering broken:\n" + string.Join("\n", violations));
    }

    [Fact]
    public void The_allowed_uses_form_no_cycle()
    {
        var state = new Dictionary<string, int>(); // 1 visiting, 2 done
        var path = new List<string>();
        void Visit(string n)
        {
            if (state.GetValueOrDefault(n) == 2) return;
            path.Add(n);
            Assert.False(state.GetValueOrDefault(n) == 1, "cycle: " + string.Join(" → ", path));
            state[n] = 1;
            foreach (var m in Allowed.GetValueOrDefault(n, [])) Visit(m);
            state[n] = 2;
            path.RemoveAt(path.Count - 1);
        }
        foreach (var n in Allowed.Keys) Visit(n);
        foreach (var (n, uses) in Allowed)
            Assert.All(uses, u => Assert.True(Allowed.ContainsKey(u), $"{n} lists unknown folder {u}"));
    }

    [Fact]
    public void Every_folder_of_the_library_is_in_the_table()
    {
        var folders = typeof(MovingImages.Runtime.TorchRuntime).Assembly.GetTypes()
            .Select(t => t.Namespace).OfType<string>().Where(n => n.StartsWith("MovingImages.", StringComparison.Ordinal))
            .Select(Folder).Distinct().Order().ToArray();
        Assert.Equal(Allowed.Keys.Order().ToArray(), folders);
    }

    [Fact]
    public void The_check_sees_a_use_hidden_in_a_method_body()
    {
        // Video uses Tracking only inside FrameWriter's methods and fields; without that permission the check must say so.
        var strict = Allowed.ToDictionary(kv => kv.Key, kv => kv.Key == "Video" ? kv.Value.Where(v => v != "Tracking").ToArray() : kv.Value);
        var violations = Violations(NamespaceGraph.Read(Core, "MovingImages."), strict);
        Assert.Contains(violations, v => v.StartsWith("Video → Tracking", StringComparison.Ordinal));
        // and a cycle-free table is not satisfied by accident: Imaging must not need ObjectDetection (the old Letterbox cycle)
        Assert.DoesNotContain("ObjectDetection", Allowed["Imaging"]);
    }

    [Theory]
    [InlineData("ScottPlot")]
    [InlineData("XPlot.Plotly")]
    [InlineData("Microsoft.DotNet.Interactive")]
    [InlineData("Microsoft.DotNet.Interactive.Formatting")]
    [InlineData("System.CommandLine")]
    [InlineData("Spectre.Console")]
    public void The_core_library_references_no_shell_package(string shellAssembly)
    {
        var graph = NamespaceGraph.Read(Core, "MovingImages.");
        Assert.DoesNotContain(shellAssembly, graph.References);
    }

    [Fact]
    public void The_shells_do_not_use_each_other()
    {
        // the notebook display layer (loaded into the kernel) needs neither the CLI nor the headless runner
        var display = NamespaceGraph.Read(typeof(NotebookDisplay).Assembly.Location, "MovingImages.");
        Assert.DoesNotContain("MovingImages.Cli", display.References);
        Assert.DoesNotContain("MovingImages.Notebooks", display.References);
        var runner = NamespaceGraph.Read(typeof(NotebookRunner).Assembly.Location, "MovingImages.");
        Assert.DoesNotContain("MovingImages.Cli", runner.References);
    }
}
