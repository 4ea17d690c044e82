using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Formatting;
using Microsoft.DotNet.Interactive.PackageManagement;

namespace MovingImages.Notebooks;

/// <summary>
/// The kernel a notebook runs in: a <see cref="CompositeKernel"/> with the C# kernel set up as the dotnet-interactive
/// tool sets it up for Jupyter and VS Code (<c>#r</c> of files and <c>#r "nuget:"</c>/<c>#i</c> with their assemblies
/// added to the compilation, the kernel helpers — <c>display()</c> —, <c>#!who</c>, value sharing) and HTML as the
/// default mime type, as in a notebook front end.
/// </summary>
public static class NotebookKernel
{
    /// <summary>Creates the kernel. Dispose it when the notebook is done.</summary>
    public static CompositeKernel Create()
    {
        var csharp = new CSharpKernel()
            .UseNugetDirective((k, references) =>
            {
                k.AddAssemblyReferences(references.SelectMany(r => r.AssemblyPaths));
                return Task.CompletedTask;
            })
            .UseKernelHelpers()
            .UseWho()
            .UseValueSharing();
        var composite = new CompositeKernel { csharp };
        composite.DefaultKernelName = csharp.Name;
        // What the tool does for notebook front ends (BrowserFrontendEnvironment): HTML unless a type says otherwise.
        Formatter.DefaultMimeType = HtmlFormatter.MimeType;
        Formatter.SetPreferredMimeTypesFor(typeof(string), PlainTextFormatter.MimeType);
        return composite;
    }
}
