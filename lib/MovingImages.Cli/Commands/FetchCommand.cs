using System.CommandLine;
using MovingImages.Fetch;
using Spectre.Console;

namespace MovingImages.Cli.Commands;

/// <summary><c>movingimages fetch yolov3|tiny|spp|samples|faces|all ...</c>.</summary>
internal static class FetchCommand
{
    public static Command Create(CliIO io)
    {
        var group = new Argument<string[]>("what") { Description = $"one or more of {string.Join(", ", FetchManifest.Groups)}, or all", Arity = ArgumentArity.OneOrMore };
        var from = SharedOptions.From();
        var force = new Option<bool>("--force") { Description = "replace files that exist but differ from the published ones (kept as .bak)" };
        var root = new Option<string>("--root") { Description = "project folder holding weights/ and data/", DefaultValueFactory = _ => "." };
        var offline = SharedOptions.Offline();
        var command = new Command("fetch", "Download model files and sample media, with resume and SHA-256 checks.") { group, from, force, root, offline };
        command.SetAction(async (parse, ct) =>
        {
            var items = FetchManifest.Select(parse.GetValue(group)!);
            var outcomes = await FetchAsync(io, items, parse.GetValue(root)!, parse.GetValue(from), parse.GetValue(force), parse.GetValue(offline), ct);
            return outcomes.All(o => o.Ok) ? 0 : 1;
        });
        return command;
    }

    /// <summary>Fetches items with a progress bar and prints one line per file; returns the outcomes.</summary>
    public static async Task<IReadOnlyList<FetchOutcome>> FetchAsync(CliIO io, IReadOnlyList<FetchItem> items, string root, string? from, bool force, bool offline, CancellationToken ct)
    {
        var fetcher = new Fetcher(root, from ?? Fetcher.DefaultMirror(root)) { Force = force, Offline = offline };
        if (fetcher.Mirror != null) io.Err.WriteLine($"local mirror: {fetcher.Mirror}");
        var outcomes = new List<FetchOutcome>();
        await io.Console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                foreach (var item in items)
                {
                    var task = ctx.AddTask(item.Name, maxValue: item.Size ?? 1);
                    var progress = new Progress<FetchProgress>(p =>
                    {
                        if (p.Total is { } t) task.MaxValue = t;
                        task.Value = p.Bytes;
                    });
                    var outcome = await fetcher.FetchAsync(item, progress, ct);
                    if (outcome.Ok) task.Value = task.MaxValue; // a failed file keeps the bytes it got, never a full bar
                    else task.Description = $"{item.Name} [red]FAILED[/]";
                    task.StopTask();
                    outcomes.Add(outcome);
                }
            });
        foreach (var o in outcomes)
        {
            string status = o.Status switch
            {
                FetchStatus.AlreadyPresent => "present",
                FetchStatus.CopiedFromMirror => "copied from mirror",
                FetchStatus.Downloaded => "downloaded",
                FetchStatus.Resumed => "downloaded (resumed)",
                _ => "FAILED",
            };
            io.Err.WriteLine(o.Ok ? $"  {o.Item.Name,-16} {status,-22} {Path.GetRelativePath(Environment.CurrentDirectory, o.Path)}{(o.Message != null ? $" ({o.Message})" : "")}"
                                  : $"  {o.Item.Name,-16} {status,-22} {o.Message}");
        }
        return outcomes;
    }
}
