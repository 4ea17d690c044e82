using Mono.Cecil;

namespace MovingImages.Tests.Architecture;

/// <summary>
/// Every convolution of the library goes through the checked router (MovingImages.Nn.ConvolutionRouter): libtorch's
/// convolution is called in one place only, the router's native route. Read from the compiled IL, so a new layer that
/// calls <c>F.conv2d</c> (or builds an <c>nn.Conv2d</c>) directly fails here instead of computing unchecked numbers
/// on a CPU where libtorch is wrong.
/// </summary>
public class ConvolutionCallTests
{
    static readonly string[] Assemblies = ["MovingImages.dll", "MovingImages.Interactive.dll", "MovingImages.Cli.dll"];

    const string TheOnePlace = "MovingImages.Nn.ConvolutionRoutes";

    /// <summary>"Type::Method → callee" of every call to libtorch's convolutions in the assembly.</summary>
    internal static IEnumerable<string> ConvolutionCalls(string path)
    {
        using var module = ModuleDefinition.ReadModule(path);
        foreach (var type in module.GetTypes())
            foreach (var method in type.Methods.Where(m => m.HasBody))
                foreach (var ins in method.Body.Instructions)
                    if (ins.Operand is MethodReference callee && callee.DeclaringType.FullName.StartsWith("TorchSharp.", StringComparison.Ordinal)
                        && callee.Name is "conv1d" or "conv2d" or "conv3d" or "conv_transpose1d" or "conv_transpose2d" or "conv_transpose3d" or "Conv1d" or "Conv2d" or "Conv3d" or "ConvTranspose2d")
                    {
                        var outer = type;
                        while (outer.DeclaringType != null) outer = outer.DeclaringType;
                        yield return $"{outer.FullName}::{method.Name} → {callee.DeclaringType.FullName}::{callee.Name}";
                    }
    }

    [Fact]
    public void Only_the_native_route_calls_libtorchs_convolution()
    {
        var calls = Assemblies.SelectMany(a => ConvolutionCalls(Path.Combine(AppContext.BaseDirectory, a))).ToList();
        Assert.Contains(calls, c => c.StartsWith(TheOnePlace + "::Native ", StringComparison.Ordinal));     // the scan sees calls…
        Assert.Contains(ConvolutionCalls(typeof(ConvolutionCallTests).Assembly.Location),                   // …and sees them elsewhere (a test's direct F.conv2d)
            c => c.StartsWith("MovingImages.Tests.Nn.TfOpsTests::", StringComparison.Ordinal));
        var elsewhere = calls.Where(c => !c.StartsWith(TheOnePlace + "::", StringComparison.Ordinal)).ToList();
        Assert.True(elsewhere.Count == 0, "libtorch's convolution called around the checked router (use MovingImages.Nn.Convolution.Conv2d):\n" + string.Join("\n", elsewhere));
    }
}
