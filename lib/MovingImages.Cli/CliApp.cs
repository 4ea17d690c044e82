using System.CommandLine;
using MovingImages.Cli.Commands;
using MovingImages.Darknet;
using MovingImages.Fetch;
using Spectre.Console;

namespace MovingImages.Cli;

/// <summary>The <c>movingimages</c> command line: a thin shell over the library.</summary>
public static class CliApp
{
    /// <summary>Runs the command line with the given arguments; output and errors go to the given writers (console by default).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null, CancellationToken cancellationToken = default)
    {
        var io = new CliIO(output ?? Console.Out, error ?? Console.Error);
        var root = Root(io);
        // Ctrl+C cancels the command's token; the command then finishes its outputs (a playable video, the checkpoint at
        // the step reached). System.CommandLine's default gives it 2 s before returning 130 regardless, which cut those off.
        var config = new InvocationConfiguration
        {
            Output = io.Out, Error = io.Err, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = ShutdownGrace,
        };
        try
        {
            return await root.Parse(args).InvokeAsync(config, cancellationToken);
        }
        catch (Exception e) when (IsUserError(e))
        {
            io.Err.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            io.Err.WriteLine("cancelled.");
            return 130;
        }
    }

    /// <summary>The command tree: <c>movingimages</c> and its commands, writing to <paramref name="io"/>.</summary>
    internal static Command Root(CliIO io) =>
        // A plain command named as users type it: RootCommand takes its name from the entry assembly ("MovingImages.Cli"),
        // which help then printed as the usage line.
        new("movingimages", "MovingImages: locate objects with YOLOv3 and make fake video, on TorchSharp and OpenCV.")
        {
            new System.CommandLine.Help.HelpOption(),
            new VersionOption(),
            LocateCommand.Create(io),
            FetchCommand.Create(io),
            BenchCommand.Create(io),
            WeightsCommand.Create(io),
            DemoCommand.Create(io),
            NotebookCommand.Create(io),
            FacesCommand.Create(io),
            FakeVideoCommand.Create(io),
            SoakCommand.Create(io),
            DoctorCommand.Create(io),
        };

    /// <summary>How long a command may take to finish its outputs after Ctrl+C (saving a large checkpoint takes seconds).</summary>
    public static TimeSpan ShutdownGrace { get; } = TimeSpan.FromSeconds(60);

    /// <summary>Errors the user can cause and fix (bad file, wrong weights, bad option): a message, not a stack trace.</summary>
    internal static bool IsUserError(Exception e) => e is FileNotFoundException or DirectoryNotFoundException or DarknetConfigException
        or DarknetWeightsException or ArgumentException or InvalidDataException or FetchChecksumException or InvalidOperationException
        or UnauthorizedAccessException or IOException or MovingImages.Notebooks.NotebookFormatException or MovingImages.FaceSwap.TrainingDivergedException;
}

/// <summary>Where a command writes: plain text writers plus a Spectre console over the same output.</summary>
public sealed class CliIO
{
    /// <summary>Creates the pair.</summary>
    public CliIO(TextWriter output, TextWriter error)
    {
        Out = output;
        Err = error;
        bool interactive = ReferenceEquals(output, System.Console.Out) && !System.Console.IsOutputRedirected;
        Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(error), // progress and tables go to stderr, so stdout stays machine-readable
            Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
        });
    }

    /// <summary>Standard output (results, JSON lines).</summary>
    public TextWriter Out { get; }
    /// <summary>Standard error (messages, progress).</summary>
    public TextWriter Err { get; }
    /// <summary>A Spectre console writing to <see cref="Err"/>.</summary>
    public IAnsiConsole Console { get; }
}
