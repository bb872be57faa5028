//! The status page: what the poller is doing now, each host's state (ok,
//! backing off until, breaker open) and the recent errors. Refreshes itself
//! every two seconds.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{format_interval, load_status, StatusView};
use crate::live::use_live_events;
use crate::sources::class_words;
use crate::time::{LocalTime, TimeStyle};
use crate::ui::ErrorText;

#[component]
pub fn StatusPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_status());
    view! {
        <main class="page narrow">
            <h1>"Status"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading status…"</p> }>
                {move || data.get().map(|r| match r {
                    Ok(v) => view! { <LiveStatus initial=v/> }.into_any(),
                    Err(e) => view! { <ErrorText what="Could not load the status" error=e.to_string()/> }.into_any(),
                })}
            </Suspense>
        </main>
    }
}

fn host_state_words(state: &str) -> &'static str {
    match state {
        "ok" => "OK",
        "backing_off" => "Backing off",
        "breaker_open" => "Paused (circuit breaker open)",
        "half_open" => "Trying again (half-open)",
        _ => "Unknown",
    }
}

#[component]
fn LiveStatus(initial: StatusView) -> impl IntoView {
    let last_seq = initial.last_seq;
    let view_s = RwSignal::new(initial);
    let refresh = move || {
        spawn_local(async move {
            if let Ok(v) = load_status().await {
                view_s.set(v);
            }
        })
    };
    // The event counter and blocked sources change with every event.
    use_live_events(last_seq, move |_| refresh());
    Effect::new(move |_| {
        let handle = set_interval_with_handle(refresh, std::time::Duration::from_secs(2));
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    });
    view! {
        {move || {
            let v = view_s.get();
            let now = v.now;
            let running: Vec<_> = v.sources.iter().filter(|r| r.running()).cloned().collect();
            let errors: Vec<_> = v
                .sources
                .iter()
                .flat_map(|r| r.runs.iter().filter(|run| run.error.is_some()).map(move |run| (r.source.name.clone(), run.clone())))
                .take(20)
                .collect();
            view! {
                <section class="panel" aria-labelledby="poller-heading">
                    <h2 id="poller-heading">"Poller"</h2>
                    <p data-testid="poller-summary">
                        {format!("{} products tracked across {} sources; {} live page(s) connected; last event #{}.",
                            v.products, v.sources.len(), v.live_clients, v.last_seq)}
                    </p>
                    {if running.is_empty() {
                        view! { <p class="muted">"No check is running right now."</p> }.into_any()
                    } else {
                        view! {
                            <ul>
                                {running.into_iter().map(|r| {
                                    let p = r.progress.clone().unwrap_or_default();
                                    view! { <li>{format!("Checking {}: page {} ({} products so far)", r.source.name, p.pages_done, p.products_seen)}</li> }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                    <div class="table-scroll"><table>
                        <thead><tr><th scope="col">"Source"</th><th scope="col">"State"</th><th scope="col">"Every"</th><th scope="col">"Last check"</th></tr></thead>
                        <tbody>
                            {v.sources.iter().map(|r| {
                                let state = if !r.source.enabled { "Paused".to_string() }
                                    else if r.source.blocked { "Blocked".to_string() }
                                    else if r.running() { "Checking".to_string() }
                                    else { "Waiting".to_string() };
                                let last = r.runs.first().map(|run| {
                                    let ago = (now - run.started).num_seconds().max(0);
                                    match &run.error_class {
                                        Some(c) => format!("{ago} s ago: {}", class_words(c)),
                                        None => format!("{ago} s ago: OK, {} products", run.products),
                                    }
                                }).unwrap_or_else(|| "never".into());
                                view! {
                                    <tr><td>{r.source.name.clone()}</td><td>{state}</td><td>{format_interval(r.source.interval_secs)}</td><td>{last}</td></tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table></div>
                </section>
                <section class="panel" aria-labelledby="hosts-heading">
                    <h2 id="hosts-heading">"Hosts"</h2>
                    {if v.hosts.is_empty() {
                        view! { <p class="muted">"No requests made yet."</p> }.into_any()
                    } else {
                        view! {
                            <div class="table-scroll"><table data-testid="hosts">
                                <thead><tr><th scope="col">"Host"</th><th scope="col">"State"</th><th scope="col">"Until"</th><th scope="col">"Failures in a row"</th><th scope="col">"In flight"</th><th scope="col">"Last error"</th></tr></thead>
                                <tbody>
                                    {v.hosts.iter().map(|h| view! {
                                        <tr data-state=h.state.clone()>
                                            <td>{h.host.clone()}</td>
                                            <td>{host_state_words(&h.state)}</td>
                                            <td>
                                                {h.until.map(|u| view! { <LocalTime at=u style=TimeStyle::Clock/> })}
                                                {h.until.is_none().then_some("—")}
                                            </td>
                                            <td>{h.consecutive_failures}</td>
                                            <td>{h.in_flight}</td>
                                            <td>{h.last_error.clone().unwrap_or_else(|| "—".into())}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                        }.into_any()
                    }}
                </section>
                {(!v.instances.is_empty()).then(|| view! {
                    <section class="panel" aria-labelledby="instances-heading">
                        <h2 id="instances-heading">"Instances"</h2>
                        <p class="muted">{format!(
                            "{} Dropwatch instances share this database; each host is polled by one of them.",
                            v.instances.len()
                        )}</p>
                        <div class="table-scroll"><table data-testid="instances">
                            <thead><tr><th scope="col">"Instance"</th><th scope="col">"Address"</th><th scope="col">"Started"</th><th scope="col">"Holds (until)"</th></tr></thead>
                            <tbody>
                                {v.instances.iter().map(|i| view! {
                                    <tr data-this=i.this.to_string()>
                                        <td>{i.id.clone()}{i.this.then_some(" (this one)")}</td>
                                        <td>{if i.addr.is_empty() { "—".to_string() } else { i.addr.clone() }}</td>
                                        <td><LocalTime at=i.started/></td>
                                        <td>
                                            {i.leases.is_empty().then_some("nothing yet")}
                                            <ul class="leases">
                                                {i.leases.iter().map(|l| view! {
                                                    <li>{l.host.clone()} " (" <LocalTime at=l.expires style=TimeStyle::Clock/> ")"</li>
                                                }).collect_view()}
                                            </ul>
                                        </td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table></div>
                    </section>
                })}
                <section class="panel" aria-labelledby="errors-heading">
                    <h2 id="errors-heading">"Recent errors"</h2>
                    {if errors.is_empty() {
                        view! { <p class="muted" data-testid="no-errors">"No errors in the recent checks."</p> }.into_any()
                    } else {
                        view! {
                            <ul class="errors" data-testid="errors">
                                {errors.into_iter().map(|(name, run)| view! {
                                    <li>
                                        <strong>{name}</strong> " · " <LocalTime at=run.started/> ": "
                                        {run.error_class.as_deref().map(class_words).unwrap_or("Failed")} " — " {run.error.clone().unwrap_or_default()}
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                </section>
            }
        }}
    }
}
